# --bundle packs the images for `qpy flash BUNDLE`, checking each first.
mkdir app
printf 'print("a")\n' > app/a.py
"$MKLFS" --pair -c app
"$MKLFS" --bundle prod.bundle --customer-fs customer_fs.bin --backup-fs customer_backup_fs.bin -v 2>&1
head -c 8 prod.bundle; echo
"$MKLFS" --bundle again.bundle --customer-fs customer_fs.bin --backup-fs customer_backup_fs.bin
cmp prod.bundle again.bundle && echo reproducible
# A file that is not an image for its partition is refused.
"$MKLFS" --bundle x.bundle --customer-fs app/a.py || echo "exit $?"
"$MKLFS" --bundle x.bundle --firmware customer_fs.bin || echo "exit $?"
"$MKLFS" --bundle x.bundle || echo "exit $?"
ls x.bundle 2>/dev/null || echo "no x.bundle"
