# The seed's workflow from one folder: mklfs --pair, mklfs --bundle (with a firmware
# image from mkfw), qpy flash BUNDLE, boot; the protected files are restored after a
# script breaks them.
"$QPY" device new dev >/dev/null
# The platform's own firmware image, as the build makes it (firmware/CMakeLists.txt).
cp "$(dirname "$QPY")/../firmware/default.img" system.img
mkdir app
printf 'print("a")\n' > app/a.py
printf 'print("b")\n' > app/b.py
"$MKLFS" --pair -c app
"$MKLFS" --bundle prod.bundle --firmware system.img --customer-fs customer_fs.bin \
    --backup-fs customer_backup_fs.bin
"$QPY" --device dev flash prod.bundle
cat > break.py <<'PY'
import uos
print(uos.listdir("/usr"), uos.listdir("/bak/usr"))
uos.remove("/usr/a.py")
with open("/usr/b.py", "w") as f:
    f.write("broken")
PY
"$QPY" --device dev run break.py
cat > show.py <<'PY'
print(open("/usr/a.py").read(), end="")
print(open("/usr/b.py").read(), end="")
PY
"$QPY" --device dev run show.py
# A firmware image without the app section the module boots from is refused.
FWGEN="$(dirname "$MKFW")/fwgen"
"$FWGEN" 100000 cp.bin
"$MKFW" create -o noapp.img --model EC600S --version V1 --section cp=cp.bin >/dev/null
"$QPY" --device dev flash --firmware noapp.img || echo "exit $?"
"$MKLFS" --bundle x.bundle --firmware noapp.img || echo "exit $?"
"$QPY" --device dev run show.py
