# Both directions, fs and fp; the package is smaller than the new image and the summary
# says the self-check passed. -v gives progress on stderr.
. "$(dirname "$0")/mkimages.inc"
"$ADIFF" -l fs old.img new.img a_b.bin | sed 's/[0-9][0-9]*/N/g'
"$ADIFF" -v -l fp new.img old.img b_a.bin 2>err.txt >/dev/null
grep -c "adiff: diffing" err.txt
[ "$(wc -c < a_b.bin)" -lt "$(wc -c < new.img)" ] && echo smaller
"$ADIFF" -q -l fp old.img new.img q.bin
cmp q.bin a_b.bin && echo reproducible
