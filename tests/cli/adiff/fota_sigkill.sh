# SIGKILL of the module during the boot-time upgrade (SPEC-patch §8.4): a verified package is
# pending, the module boots and is killed after a growing delay, then boots again. Every
# reboot must come up on the new firmware, with the module only it has. The loop goes on
# until three kills landed while the apply was under way (the journal, which a finished
# boot erases, is still in the flash) or the delay passes 2 s (then a line says so). The
# delays grow geometrically, so a loaded machine (a slower apply) is still caught.
. "$(dirname "$0")/v2image.inc"
"$ADIFF" -q -l fp "$OLD" new.img FotaFile.bin
cat > check.py <<'PY'
import modem, newonly
print(modem.getDevFwVersion(), newonly.hello())
PY
"$QPY" device new pending >/dev/null
"$QPY" --device pending fs cp FotaFile.bin :/usr/FotaFile.bin
"$QPY" --device pending run "$(dirname "$0")/fota_stage.py"
mid=0
ms=0
while [ $mid -lt 3 ] && [ $ms -le 2000 ]; do
    rm -rf dev
    cp -r pending dev
    "$QPY" --device dev run check.py >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if LC_ALL=C grep -q -a QPFWJRNL dev/flash.img; then
        mid=$((mid + 1))
    fi
    out=$("$QPY" --device dev run check.py 2>&1) || true
    if [ "$out" != "EC600SCNAAR01A01M16_OCPU_PY_V2 only in V2" ]; then
        echo "killed after $ms ms, reboot: $out"
    fi
    ms=$((ms + 10 + ms / 4))
done
[ $mid -ge 3 ] && echo "three kills during the apply, each finished at the next boot" || echo "only $mid kills during the apply"
"$QPY" --device dev run check.py
