# A backup partition that holds no file system any more (its superblocks wiped) is
# reported at boot and the module still boots: the boot formats it, as the firmware's
# VfsLfs1 mount does, and with no backup_restore.json left there is nothing to restore.
"$QPY" device new dev >/dev/null
mkdir app
printf 'print("a")\n' > app/a.py
"$MKLFS" --pair -c app
"$QPY" --device dev flash --customer-fs customer_fs.bin --backup-fs customer_backup_fs.bin
# Find the partition in flash.img by the image burnt into it, and zero its first blocks.
/usr/bin/python3.11 - <<'PY'
flash = bytearray(open("dev/flash.img", "rb").read())
image = open("customer_backup_fs.bin", "rb").read()
at = flash.find(image[:8192])
assert at > 0
flash[at:at + 8192] = bytes(8192)
open("dev/flash.img", "wb").write(flash)
PY
printf 'import uos\nprint(uos.listdir("/usr"), uos.listdir("/bak"))\n' > show.py
"$QPY" --device dev run show.py
