# --pair: one folder gives customer_fs.bin (the files, checksum.json) and
# customer_backup_fs.bin (the factory copies under /usr, checksum.json,
# backup_restore.json with the restore enabled).
mkdir -p app/lib
printf 'print("a")\n' > app/a.py
printf 'x = 1\n' > app/lib/util.py
"$MKLFS" --pair -c app
"$MKLFS" -l customer_fs.bin
"$MKLFS" -l customer_backup_fs.bin
"$MKLFS" -u usr -i customer_fs.bin
"$MKLFS" -u bak -i customer_backup_fs.bin
cat usr/checksum.json; echo
cat bak/backup_restore.json; echo
cmp usr/checksum.json bak/checksum.json && echo "same checksum.json"
sha256sum app/a.py app/lib/util.py | cut -d' ' -f1
# The backup partition is 200 KB whatever -s says: too much to protect is refused.
head -c 300000 /dev/urandom > app/big.bin
"$MKLFS" --pair -c app -i big_usr.bin --backup-image big_bak.bin || echo "exit $?"
