# A partition that holds no file system (here: customer_fs's first blocks zeroed, as
# after a bad download) is formatted at boot, as the firmware's boot does, and qpy says
# so; /bak is untouched. The partition table is in docs/SPEC-partitions.md: customer_fs
# starts at flash 0x601000, i.e. file offset 4096 + 0x601000 in flash.img.
"$QPY" device new dev >/dev/null
printf 'keep\n' > k.txt
"$QPY" --device dev fs cp k.txt :/usr/k.txt
"$QPY" --device dev fs mkdir /bak/usr
"$QPY" --device dev fs cp k.txt :/bak/usr/k.txt
dd if=/dev/zero of=dev/flash.img bs=4096 seek=$((1 + 0x601)) count=2 conv=notrunc 2>/dev/null
echo 'import uos; print(uos.listdir("/usr"), uos.listdir("/bak/usr"))' > ls.py
"$QPY" --device dev run ls.py
"$QPY" --device dev run ls.py
