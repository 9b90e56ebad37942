# A protected file whose factory copy is missing from /bak: said, skipped; the others are
# restored. A corrupt /usr/checksum.json is reported and the module still boots.
"$QPY" device new dev >/dev/null
mkdir -p app bak
printf 'print("a")\n' > app/a.py
printf 'print("b")\n' > app/b.py
"$MKLFS" --pair -c app
"$MKLFS" -u bak -i customer_backup_fs.bin
rm bak/usr/b.py
"$MKLFS" --backup -c bak -i partial.bin
"$QPY" --device dev flash --customer-fs customer_fs.bin --backup-fs partial.bin
printf 'import uos\nuos.remove("/usr/a.py")\nuos.remove("/usr/b.py")\n' > break.py
printf 'import uos\nprint(sorted(uos.listdir("/usr")))\n' > show.py
"$QPY" --device dev run break.py
"$QPY" --device dev run show.py
echo "--- corrupt checksum.json"
printf 'with open("/usr/checksum.json", "w") as f:\n    f.write("[{\\"name\\": ")\n' > corrupt.py
"$QPY" --device dev run corrupt.py
"$QPY" --device dev run show.py
echo "--- checksum.json missing from both partitions"
"$MKLFS" --pair -c app
rm bak/checksum.json
"$MKLFS" --backup -c bak -i nolist.bin
"$QPY" --device dev flash --customer-fs customer_fs.bin --backup-fs nolist.bin
printf 'import uos\nuos.remove("/usr/checksum.json")\n' > nolist.py
"$QPY" --device dev run nolist.py
"$QPY" --device dev run show.py
