# qpy flash refuses while the module runs (the flash lock), and works once it stopped.
"$QPY" device new dev >/dev/null
mkdir app
printf 'x' > app/a.txt
"$MKLFS" -c app -i usr.bin
printf 'import utime\nprint("running")\nutime.sleep(2)\n' > sleep.py
"$QPY" --device dev run sleep.py > module.out &
module=$!
i=0
until grep -qs running module.out; do
    sleep 0.05
    i=$((i + 1))
    [ $i -lt 600 ] || break
done
{ "$QPY" --device dev flash --customer-fs usr.bin 2>&1 || echo "exit $?"; } |
    sed 's#^qpy: flash: .*/flash.img:#qpy: flash: DEVICE/flash.img:#'
wait $module
"$QPY" --device dev flash --customer-fs usr.bin && echo "flashed after it stopped"
"$QPY" --device dev fs ls
