# littlefs v1 and v2 partitions (docs/SPEC-device.md §1.1). A device whose profile says v1
# boots a /usr burnt as littlefs v2 (the boot tries v1, then v2) and reads its files; an
# erased partition is formatted in the version the profile gives it, and qpy says which.
# customer_fs starts at flash 0x601000, file offset 4096 + 0x601000 in flash.img.
mkdir app
printf 'print("hello from v2")\n' > app/hello.py
printf 'import hello\nimport uos\nprint(uos.listdir("/usr"))\n' > app/main.py
"$MKLFS" --lfs-version 2 -c app -i v2.bin
"$QPY" device new dev >/dev/null
"$QPY" device show dev | grep littlefs
"$QPY" --device dev flash --customer-fs v2.bin
echo 'exec(open("/usr/main.py").read())' > run.py
"$QPY" --device dev run run.py
"$MKLFS" -l dev/flash.img --partition customer_fs | tail -1
"$QPY" --device dev fs ls /usr
# A v2 device: both partitions come from the factory as v2; an erased /usr is formatted v2.
"$QPY" device new dev2 --lfs-version 2 >/dev/null
"$QPY" device show dev2 | grep littlefs
"$MKLFS" -l dev2/flash.img --partition customer_fs | tail -1
"$MKLFS" -l dev2/flash.img --partition customer_backup_fs | tail -1
dd if=/dev/zero of=dev2/flash.img bs=4096 seek=$((1 + 0x601)) count=2 conv=notrunc 2>/dev/null
echo 'import uos; print(uos.listdir("/usr"))' > ls.py
"$QPY" --device dev2 run ls.py
"$MKLFS" -l dev2/flash.img --partition customer_fs | tail -1
# The same on the v1 device: formatted v1 again.
dd if=/dev/zero of=dev/flash.img bs=4096 seek=$((1 + 0x601)) count=2 conv=notrunc 2>/dev/null
"$QPY" --device dev run ls.py
"$MKLFS" -l dev/flash.img --partition customer_fs | tail -1
# Only /usr v2: a profile edited by hand; a profile from before the field boots as v1.
sed -i 's/"customer_backup_fs":[^0-9]*2/"customer_backup_fs": 1/' dev2/device.json
"$QPY" device show dev2 | grep littlefs
python3 -c 'import json; p = json.load(open("dev/device.json")); del p["lfs_version"]; json.dump(p, open("dev/device.json", "w"))'
"$QPY" --device dev run ls.py
# Mistakes: a bad value in the profile, a bad option.
sed -i 's/"customer_fs":[^0-9]*2/"customer_fs": 3/' dev2/device.json
"$QPY" --device dev2 run ls.py || echo "exit $?"
"$QPY" device new dev3 --lfs-version 3 || echo "exit $?"
