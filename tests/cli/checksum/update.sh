# checksum.update as the firmware's: a leading "/" is added, names match whatever their
# case, only listed files are updated, the whole list is returned (None otherwise); an
# updated file is not restored at the next boot. Both entry formats: sha256 (the seed's)
# and crc32 (newer firmware, "0x..."), each entry keeping its own.
"$QPY" device new dev >/dev/null
mkdir -p usr bak/usr
printf 'print("a")\n' > usr/a.py
printf 'print("b")\n' > usr/b.py
cp usr/a.py usr/b.py bak/usr/
sum=$(sha256sum usr/a.py | cut -d' ' -f1)
crc=$(gzip -c usr/b.py | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
printf '[{"name": "/usr/a.py", "sha256": "%s"}, {"name": "/usr/b.py", "crc32": "0x%s"}]' "$sum" "$crc" > list.json
cp list.json usr/checksum.json
cp list.json bak/checksum.json
printf '{"enable": 1}' > bak/backup_restore.json
"$MKLFS" -c usr -i usr.bin
"$MKLFS" --backup -c bak -i bak.bin
"$QPY" --device dev flash --customer-fs usr.bin --backup-fs bak.bin
cat > update.py <<'PY'
import checksum, ujson
print(checksum.retrieve("usr/a.py"))
print(checksum.update("usr/b.py"))           # "usr/b.py" means "/usr/b.py"
print(checksum.update("b.py"))               # "/b.py": not listed
print(checksum.update("/usr/nothere.py"))    # not listed: None
with open("/usr/a.py", "w") as f:
    f.write("print('new a')\n")
r = checksum.update("/USR/A.PY")
print([sorted(e) for e in r])
import zlib, uhashlib, ubinascii
print(r[0]["sha256"] == ubinascii.hexlify(uhashlib.sha256(b"print('new a')\n").digest()).decode())
print(r[1]["crc32"] == "0x%08x" % zlib.crc32(b'print("b")\n'))
print(open("/usr/checksum.json").read() == ujson.dumps(r))
import uos
print(uos.listdir("/usr"))
PY
"$QPY" --device dev run update.py
echo "--- reboot: a.py was updated on purpose, so it stays"
printf 'print(open("/usr/a.py").read(), end="")\n' > show.py
"$QPY" --device dev run show.py
