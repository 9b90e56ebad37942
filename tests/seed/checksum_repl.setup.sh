# The device checksum_repl.txt was recorded on, made as the seed's "文件备份" section made
# it: the customer_backup_fs image is built from a folder holding the files under usr/, a
# checksum.json listing four of them and backup_restore.json enabling the restore; the
# customer_fs image holds only the factory parameter apn_cfg.json. Both are burnt with
# `qpy flash`, then the module boots once: the restore brings the four files to /usr
# (checksum.json first, as the firmware copies it before restoring), and the boot makes
# system_config.json, which gives the transcript's /usr listing. The file contents are
# stand-ins; the runner's --digests relaxation binds the transcript's hashes to theirs.
MKLFS=$(dirname "$QPY")/mklfs
mkdir -p bak/usr empty
printf 'backup test\n' > bak/usr/test.txt
printf 'print("a")\n' > bak/usr/a.py
printf 'print("b")\n' > bak/usr/b.py
printf 'b\n' > bak/usr/b.txt
head -c 2048 /dev/zero > bak/usr/V05.bin
list=""
for f in a.py b.py b.txt V05.bin; do
    sum=$(sha256sum "bak/usr/$f" | cut -d' ' -f1)
    list="$list${list:+, }{\"name\": \"/usr/$f\", \"sha256\": \"$sum\"}"
done
printf '[%s]' "$list" > bak/checksum.json
printf '{"enable": 1}' > bak/backup_restore.json
# The seed's /bak/usr lists test.txt first: the order the files went into the image.
printf '/checksum.json\n/backup_restore.json\n/usr\n/usr/test.txt\n/usr/a.py\n/usr/b.py\n/usr/b.txt\n/usr/V05.bin\n' > order.txt
"$MKLFS" --backup -c bak --order order.txt -i customer_backup_fs.bin
printf '{"apn": "cmnet", "username": "", "password": ""}\n' > apn_cfg.json
"$MKLFS" -c empty --param apn_cfg.json -i customer_fs.bin
"$QPY" --device "$DEVICE" flash --customer-fs customer_fs.bin --backup-fs customer_backup_fs.bin
: > first_boot.py
"$QPY" --device "$DEVICE" run first_boot.py >/dev/null
