# PATCH.bin cannot be written: exit 6.
. "$(dirname "$0")/mkimages.inc"
"$ADIFF" -q -l fs old.img new.img nodir/p.bin || echo "exit $?"
