# Restore only runs when /bak/backup_restore.json says "enable" non-zero; with 0, or with
# no flag file at all (a plain device), a broken file stays broken and nothing is said.
"$QPY" device new dev >/dev/null
mkdir -p app bak/usr
printf 'print("a")\n' > app/a.py
"$MKLFS" --pair -c app
"$MKLFS" -u bak -i customer_backup_fs.bin
printf '{"enable": 0}' > bak/backup_restore.json
"$MKLFS" --backup -c bak -i disabled.bin
rm bak/backup_restore.json
"$MKLFS" --backup -c bak -i noflag.bin
printf 'import uos\nuos.remove("/usr/a.py")\n' > break.py
printf 'import uos\nprint(uos.listdir("/usr"))\n' > show.py
for backup in disabled.bin noflag.bin; do
    echo "--- $backup"
    "$QPY" --device dev flash --customer-fs customer_fs.bin --backup-fs $backup
    "$QPY" --device dev run break.py
    "$QPY" --device dev run show.py
done
