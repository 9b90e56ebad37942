#!/bin/sh
# bench/run.sh - everything `make bench` measures, printed as tables for the README.
# Usage: bench/run.sh BINDIR (the release build's bin/)
set -eu
bindir=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(dirname "$bindir")/bench
mkdir -p "$work"

/usr/bin/python3.11 "$here/boot.py" --qpy "$bindir/qpy"
echo
"$bindir/fs_bench"
echo
"$here/heap_factor.sh" "$bindir/qpy" "$work"
echo
/usr/bin/python3.11 "$here/serve_bench.py" --qpy "$bindir/qpy"
echo
/usr/bin/python3.11 "$here/mklfs_bench.py" --bin "$bindir" --runs 10
echo
/usr/bin/python3.11 "$here/fota_bench.py" --bin "$bindir"
