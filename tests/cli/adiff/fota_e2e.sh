# The seed's FOTA workflow end to end: adiff on the host, the package copied to
# /usr/FotaFile.bin, fota_file.py (unchanged) writes and verifies it and restarts the module
# (exit 3); the boot applies it in place, the module reports the new version and a module
# only the new firmware has imports. fota_file_as_documented.py restarts without upgrading.
FWGEN="$(dirname "$MKFW")/fwgen"
OLD="$(dirname "$QPY")/../firmware/default.img"
"$MKFW" extract "$OLD" x >/dev/null
"$FWGEN" --variant 1 262144 cp2.bin
cp -r x/app app2
echo 'def hello(): return "only in V2"' > app2/newonly.py
"$MKFW" create -o new.img --model EC600S --version EC600SCNAAR01A01M16_OCPU_PY_V2 --section cp=cp2.bin --section dsp=x/dsp.bin --section app=app2 >/dev/null
"$ADIFF" -q -l fs "$OLD" new.img FotaFile.bin
cat > check.py <<'PY'
import modem
print(modem.getDevFwVersion())
try:
    import newonly
    print(newonly.hello())
except ImportError:
    print("no newonly")
PY
"$QPY" device new dev >/dev/null
"$QPY" --device dev fs cp FotaFile.bin :/usr/FotaFile.bin
"$QPY" --device dev run "$SEED/fota_file.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev run check.py
"$QPY" device new dev2 >/dev/null
"$QPY" --device dev2 fs cp FotaFile.bin :/usr/FotaFile.bin
"$QPY" --device dev2 run "$SEED/fota_file_as_documented.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev2 run check.py
# A package for another firmware: verify() fails with the reason, nothing changes.
"$QPY" --device dev2 fs cp FotaFile.bin :/usr/FotaFile.bin
"$QPY" --device dev run "$SEED/fota_file.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev run check.py
