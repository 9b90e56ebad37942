# --lfs-version 2 makes littlefs v2 images: the same tree packs, lists (the summary names
# the version), unpacks to the same bytes, and packs again byte for byte; -l and -u detect
# the version, so they take no --lfs-version. --pair makes both images v2. Bad values and
# misplaced uses are usage errors.
mkdir -p mount/lib/sub mount/empty_dir
printf 'print("hello")\n' > mount/main.py
: > mount/empty.txt
head -c 300000 /dev/urandom > mount/lib/big.bin
head -c 4097 /dev/urandom > mount/lib/sub/block_plus_one.bin
printf 'x' > mount/lib/sub/one_byte
"$MKLFS" --lfs-version 2 -c mount -i v2.bin
ls -l v2.bin | awk '{print $5}'
"$MKLFS" -l v2.bin
"$MKLFS" -u unpacked -i v2.bin
diff -r mount unpacked && echo "unpacked: same files"
mkdir copy && cp -r mount/. copy/
"$MKLFS" --lfs-version 2 -c copy -i again.bin
cmp v2.bin again.bin && echo "reproducible"
# Version 1 is the default, and --lfs-version 1 says so explicitly.
"$MKLFS" -c mount -i v1.bin
"$MKLFS" --lfs-version 1 -c mount -i v1_explicit.bin
cmp v1.bin v1_explicit.bin && echo "v1 is the default"
cmp -s v1.bin v2.bin || echo "v1 and v2 images differ"
"$MKLFS" -l v1.bin | tail -1
# A pair: /usr and /bak both v2.
"$MKLFS" --pair --lfs-version 2 -c mount/lib/sub
"$MKLFS" -l customer_fs.bin | tail -1
"$MKLFS" -l customer_backup_fs.bin | tail -1
# Mistakes.
"$MKLFS" --lfs-version 3 -c mount || echo "exit $?"
"$MKLFS" --lfs-version v2 -c mount || echo "exit $?"
"$MKLFS" --lfs-version -c mount || echo "exit $?"
"$MKLFS" --lfs-version 2 -l v2.bin || echo "exit $?"
"$MKLFS" --lfs-version 2 --bundle out.bundle --customer-fs v2.bin || echo "exit $?"
