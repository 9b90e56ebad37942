# The restore path: a deleted file, a changed file and a deleted folder come back from
# /bak at the next boot, with the firmware's messages; a file that is not protected is
# left alone; the boot after that has nothing to do and says nothing.
"$QPY" device new dev >/dev/null
mkdir -p app/lib
printf 'print("a")\n' > app/a.py
printf 'print("b")\n' > app/b.py
printf 'C = 3\n' > app/lib/c.py
"$MKLFS" --pair -c app
"$QPY" --device dev flash --customer-fs customer_fs.bin --backup-fs customer_backup_fs.bin
cat > break.py <<'PY'
import uos
uos.remove("/usr/a.py")
with open("/usr/b.py", "w") as f:
    f.write("print('changed')\n")
uos.remove("/usr/lib/c.py")
uos.rmdir("/usr/lib")
with open("/usr/mine.py", "w") as f:
    f.write("not protected\n")
PY
"$QPY" --device dev run break.py
echo "--- reboot"
cat > show.py <<'PY'
import uos
print(sorted(uos.listdir("/usr")))
for name in ("/usr/a.py", "/usr/b.py", "/usr/lib/c.py", "/usr/mine.py"):
    print(name, repr(open(name).read()))
PY
"$QPY" --device dev run show.py
echo "--- reboot"
"$QPY" --device dev run show.py
