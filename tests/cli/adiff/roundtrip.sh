# Both directions, fs and fp; the package is smaller than the new image and the summary
# says the self-check passed. -v gives progress on stderr.
. "$(dirname "$0")/mkimages.inc"
"$ADIFF" -l fs old.img new.img a_b.bin | sed 's/[0-9][0-9]*/N/g'
"$ADIFF" -v -l fp new.img old.img b_a.bin 2>err.txt >/dev/null
grep -c "adiff: diffing" err.txt
[ "$(wc -c < a_b.bin)" -lt "$(wc -c < new.img)" ] && echo smaller
"$ADIFF" -q -l fp old.img new.img q.bin
cmp q.bin a_b.bin && echo reproducible
# LZOP images (the old scheme): the old sections decode in 30 KB blocks, more than the
# apply's 16 KiB window holds at once.
"$MKFW" create -o old_lzo.img --model EC600S --version V1 --codec lzop --section cp=cp1.bin --section dsp=dsp.bin
"$MKFW" create -o new_lzo.img --model EC600S --version V2 --codec lzop --section cp=cp2.bin --section dsp=dsp.bin
"$ADIFF" -l fp old_lzo.img new_lzo.img lzo.bin | tail -1
