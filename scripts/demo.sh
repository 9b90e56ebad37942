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

banner "Done. Try it yourself: $qpy --device $device"
