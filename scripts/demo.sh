#!/bin/sh
# scripts/demo.sh - `make demo`: a virtual module with the seed's identity runs the seed's
# examples, unchanged, from ../shared/seed-examples; their output is shown as it comes.
# Usage: scripts/demo.sh BINDIR
set -eu
bindir=$(realpath "$1")
qpy="$bindir/qpy"
root=$(cd "$(dirname "$0")/.." && pwd)
seed="$root/../shared/seed-examples"
device="$root/build/demo-device"
python=/usr/bin/python3.11

if [ ! -d "$seed" ]; then
    echo "demo: the seed examples are not at $seed (the shared/ folder beside the repository)" >&2
    exit 1
fi

banner() {
    printf '\n\033[1m== %s\033[0m\n' "$*"
}

banner "A device with the seed's identity: qpy device new $device"
rm -rf "$device"
"$qpy" device new "$device" --model EC600S --imei 868540050393723 \
    --sn D1D20J60A0017870P --fw-version EC600SCNAAR01A01M16_OCPU_PY_BETA1211
"$qpy" device show "$device"

# A transcript's input lines, typed into the module's REPL.
repl_session() {
    grep -E '^(>>>|\.\.\.) ' "$1" | cut -c5- | "$qpy" --device "$device" repl
    echo
}

banner "modem_repl.txt: help(modem) and the getDev* calls at the REPL"
repl_session "$seed/modem_repl.txt"

banner "modem_file.py: the same from a script, with the log module"
"$qpy" --device "$device" run "$seed/modem_file.py"

banner "thread_repl.txt: _thread ids, heap and locks"
repl_session "$seed/thread_repl.txt"

banner "thread_file.py: two threads on UART2, a host program at the other end (10 s)"
echo "(the host opens $device/uart2, reads the ten writes, then answers 'Quecpython')"
"$python" "$root/tests/seed/uart_peer.py" --qpy "$qpy" --script "$seed/thread_file.py" \
    --device "$device" --show

banner "qpy serve: the module keeps running, its REPL on a pseudo-terminal (the USB port)"
work=$(mktemp -d)
"$qpy" --device "$device" serve &
serve_pid=$!
trap 'kill -TERM $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
i=0
while [ ! -L "$device/repl" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cat > "$work/count.py" <<'PY'
# count.py: sums the fruit listed in /usr/fruit.txt
total = 0
for line in open("/usr/fruit.txt"):
    name, n = line.split()
    total += int(n)
    print("%-8s %3d" % (name, int(n)))
print("fruit in stock:", total)
PY
printf 'apples 3\npears 5\nplums 12\n' > "$work/fruit.txt"

banner "qpy --port auto fs cp: a script and a data file to /usr (CRC-checked)"
"$qpy" --device "$device" --port auto fs cp "$work/count.py" "$work/fruit.txt" :/usr/
banner "qpy --port auto run count.py: download and run, output streamed back"
"$qpy" --device "$device" --port auto run "$work/count.py"
banner "qpy --port auto fs ls, fs df"
"$qpy" --device "$device" --port auto fs ls
"$qpy" --device "$device" --port auto fs df
banner "qpy --port auto reset: the module restarts; its pty stays $(readlink "$device/repl")"
"$qpy" --device "$device" --port auto reset
"$qpy" --device "$device" --port auto exec \
    'import misc; print("power-on reason:", misc.Power.powerOnReason())'
kill -TERM $serve_pid
wait $serve_pid || true
trap - EXIT
rm -rf "$work"

banner "Done. Try it yourself: $qpy --device $device"
