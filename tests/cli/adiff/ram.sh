# A RAM budget below what recompressing NEW.img needs: exit 4.
. "$(dirname "$0")/mkimages.inc"
"$ADIFF" -l fs -m 256K old.img new.img p.bin 2>err.txt || echo "exit $?"
sed 's/needs [0-9]* bytes/needs N bytes/' err.txt
[ -e p.bin ] || echo "no p.bin"
