# folder -> mklfs -> qpy flash -> boot: the module reads back every file byte for byte,
# for nested folders, empty and binary files and files of 1 B to 1 MB.
"$QPY" device new dev >/dev/null
mkdir -p app/lib/sub app/data
printf 'print("main")\n' > app/main_not_auto.py
: > app/empty.txt
printf 'x' > app/lib/one_byte
head -c 1048576 /dev/urandom > app/data/one_mb.bin
head -c 4097 /dev/urandom > app/lib/sub/odd.bin
printf '\000\001\002\377' > app/lib/sub/binary.dat
"$MKLFS" -c app -i customer_fs.bin
"$QPY" --device dev flash --customer-fs customer_fs.bin
# The script walks /usr on the module and prints a SHA-256 of every file.
cat > walk.py <<'PY'
import uos, uhashlib, ubinascii
def walk(d):
    for name, kind, _, size in uos.ilistdir(d):
        p = d + "/" + name
        if kind == 0x4000:
            walk(p)
        elif name != "system_config.json":
            h = uhashlib.sha256()
            with open(p, "rb") as f:
                while True:
                    chunk = f.read(4096)
                    if not chunk:
                        break
                    h.update(chunk)
            print(ubinascii.hexlify(h.digest()).decode(), "." + p[4:])
walk("/usr")
PY
"$QPY" --device dev run walk.py | sort > module.txt
(cd app && find . -type f | sort | xargs sha256sum | sed 's/  / /') | sort > host.txt
diff host.txt module.txt && echo "module reads back every file"
wc -l < module.txt
# mklfs -u of the partition the module wrote to gives back the files: the folder, the
# module's system_config.json and a file a script wrote.
cat > write.py <<'PY'
with open("/usr/lib/note.txt", "w") as f:
    f.write("written on the module\n")
PY
"$QPY" --device dev run write.py
"$MKLFS" -u back -i dev/flash.img --partition customer_fs
printf 'written on the module\n' > app/lib/note.txt
printf '{"replFlag": 0}' > app/system_config.json
diff -r app back && echo "mklfs -u gives back what the module wrote"
"$MKLFS" -l dev/flash.img --partition customer_backup_fs
"$MKLFS" -l dev/flash.img --partition nope || echo "exit $?"
