#!/bin/sh
# heap_factor.sh - measures the heap cost model against MicroPython itself.
#
# Each bench/heap/*.py workload keeps some typical script data alive; bench/heap_measure.py
# prints what that costs by gc.mem_alloc(). We run it in MicroPython (its WebAssembly
# port from the npm registry: a 32-bit build, as the module's ARM core is) and in qpy
# (device-equivalent bytes, src/runtime/qp_runtime_internal.h), and print both with
# their ratio. A ratio near 1 means a script that fits on the device fits in qpy.
#
# Usage: bench/heap_factor.sh QPY_BINARY WORKDIR
set -eu
qpy=$(realpath "$1")
work=$2
here=$(cd "$(dirname "$0")" && pwd)
mp_version=1.27.0

mkdir -p "$work"
if [ ! -d "$work/node_modules/@micropython/micropython-webassembly-pyscript" ]; then
    echo "heap_factor: installing MicroPython $mp_version (WebAssembly) from npm" >&2
    (cd "$work" && npm install --silent --no-audit --no-fund \
        "@micropython/micropython-webassembly-pyscript@$mp_version" >/dev/null)
fi
cat > "$work/run-mp.mjs" <<'JS'
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { readFileSync } from "fs";
let out = "";
const mp = await loadMicroPython({ heapsize: 4 * 1024 * 1024,
    stdout: (l) => { out += l + "\n"; }, stderr: (l) => { out += l + "\n"; } });
mp.runPython(readFileSync(process.argv[2], "utf8"));
process.stdout.write(out);
JS
# A fresh device each run: one made by an older qpy may lack what this one boots from.
rm -rf "$work/device"
"$qpy" device new "$work/device" >/dev/null

echo "Heap cost of typical script data (bytes by gc.mem_alloc)"
echo
printf '| %-18s | %11s | %10s | %6s |\n' workload MicroPython qpy ratio
printf '|%s|%s|%s|%s|\n' -------------------- ------------- ------------ --------
for w in "$here"/heap/*.py; do
    cat "$w" "$here/heap_measure.py" > "$work/workload.py"
    mp=$(cd "$work" && node run-mp.mjs workload.py)
    qp=$("$qpy" --device "$work/device" run "$work/workload.py")
    ratio=$(awk "BEGIN { printf \"%.2f\", $qp / $mp }")
    printf '| %-18s | %11d | %10d | %6s |\n' "$(basename "$w" .py)" "$mp" "$qp" "$ratio"
done
