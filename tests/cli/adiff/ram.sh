# A RAM budget below what recompressing NEW.img needs: exit 4 before diffing. A budget just
# above the encoder's need but below the whole apply's: exit 4 after the patch dictionaries
# went down to 4 KiB. Nothing is written.
. "$(dirname "$0")/mkimages.inc"
"$ADIFF" -l fs -m 256K old.img new.img p.bin 2>err.txt || echo "exit $?"
sed 's/needs at least [0-9]* bytes/needs at least N bytes/' err.txt
"$ADIFF" -l fs -m 1800K old.img new.img p.bin 2>err.txt || echo "exit $?"
sed 's/needs at least [0-9]* bytes/needs at least N bytes/' err.txt
[ -e p.bin ] || echo "no p.bin"
