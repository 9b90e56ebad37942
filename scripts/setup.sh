#!/bin/sh
# scripts/setup.sh - install, with apt-get, the Debian packages OpenQPY builds and tests with.
#
# Idempotent and fast when everything is already there: it asks dpkg which packages are
# missing and runs apt-get only for those (one `apt-get update` first, since a fresh
# machine has no package lists). The README says why each package is here.
# `--bench` adds the peers `make bench` measures against; those are looked for as
# commands, since a machine may have them from elsewhere (Node.js often is).
# `--fuzz` adds clang and its libFuzzer/sanitizer runtimes for `make fuzz`, and
# `--valgrind` adds Valgrind for `make test-valgrind`.
set -eu

# Build tools, then the libraries (one per job: see README "Dependencies").
packages="
build-essential cmake ninja-build pkg-config
libpython3.11-dev python3.11
liblzma-dev liblzo2-dev libdivsufsort-dev libcjson-dev libmbedtls-dev
libcmocka-dev
python3-serial
"
# command:package pairs for `make bench`.
bench_tools="bsdiff:bsdiff xdelta3:xdelta3 zstd:zstd node:nodejs npm:npm"
# Debian packages for `make fuzz` (libFuzzer is in libclang-rt-14-dev) and
# `make test-valgrind`.
fuzz_packages="clang libclang-rt-14-dev"
valgrind_packages="valgrind"

case "${1:-}" in
    --fuzz) packages="$packages $fuzz_packages" ;;
    --valgrind) packages="$packages $valgrind_packages" ;;
esac

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
if [ "${1:-}" = "--bench" ]; then
    for pair in $bench_tools; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
fi
[ -z "$missing" ] && exit 0

echo "setup: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
else
    sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
