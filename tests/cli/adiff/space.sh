# Not enough backup space on the layout, or partitions too small: exit 3 with needed vs
# available; nothing written.
. "$(dirname "$0")/mkimages.inc"
printf 'firmware 4M\nfota_pkg 48K\nsector 4K\n' > small.txt
"$ADIFF" -l fs --layout small.txt old.img new.img p.bin 2>err.txt || echo "exit $?"
sed 's/needs [0-9]* bytes/needs N bytes/' err.txt
printf 'firmware 16K\nfota_pkg 2M\nsector 4K\n' > tiny_fw.txt
"$ADIFF" -l fs --layout tiny_fw.txt old.img new.img p.bin 2>err.txt || echo "exit $?"
sed 's/new.img: [0-9]* bytes/new.img: N bytes/' err.txt
[ -e p.bin ] || echo "no p.bin"
