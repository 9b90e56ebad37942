# The seed's FOTA workflow end to end: adiff on the host, the package copied to
# /usr/FotaFile.bin, fota_file.py (unchanged) writes and verifies it and restarts the module
# (exit 3); the boot applies it in place, the module reports the new version and a module
# only the new firmware has imports. fota_file_as_documented.py restarts without upgrading.
. "$(dirname "$0")/v2image.inc"
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
# One device throughout: the documented script first (restarts, old firmware kept), then the
# working one (upgrade), then the same package again (now for another firmware than the
# installed one: verify() fails with the reason, nothing changes).
"$QPY" device new dev >/dev/null
"$QPY" --device dev fs cp FotaFile.bin :/usr/FotaFile.bin
"$QPY" --device dev run "$SEED/fota_file_as_documented.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev run check.py
"$QPY" --device dev run "$SEED/fota_file.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev run check.py
"$QPY" --device dev run "$SEED/fota_file.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev run check.py
