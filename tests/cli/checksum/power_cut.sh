# Power cuts (SIGKILL: the flash image keeps every completed flash operation, as after a
# power loss) during checksum.update and during a boot-time restore: after the reboot
# checksum.json parses and holds the old or the new hash, never a torn list, no
# temporary file is left in /usr, and an interrupted restore completes at the next boot.
# (tests/unit/checksum/test_powercut cuts at every single flash operation of the same
# write-then-rename protocol on the flash model.)
"$QPY" device new dev >/dev/null
mkdir app
printf 'A\n' > app/a.py
printf 'print("b")\n' > app/b.py
head -c 150000 /dev/urandom > app/big.bin
"$MKLFS" --pair -c app
"$QPY" --device dev flash --customer-fs customer_fs.bin --backup-fs customer_backup_fs.bin
cat > churn.py <<'PY'
import checksum
n = 0
while True:
    with open("/usr/a.py", "w") as f:
        f.write("A%d\n" % (n % 2))
    checksum.update("/usr/a.py")
    n += 1
PY
cat > verify.py <<'PY'
import ujson, uhashlib, ubinascii, uos
def h(data):
    return ubinascii.hexlify(uhashlib.sha256(data).digest()).decode()
def hfile(path):
    s = uhashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(4096)
            if not chunk:
                break
            s.update(chunk)
    return ubinascii.hexlify(s.digest()).decode()
entries = ujson.loads(open("/usr/checksum.json").read())
ok = [e["name"] for e in entries] == ["/usr/a.py", "/usr/b.py", "/usr/big.bin"]
ok = ok and entries[0]["sha256"] in (h(b"A\n"), h(b"A0\n"), h(b"A1\n"))
ok = ok and entries[1]["sha256"] == h(b'print("b")\n')
ok = ok and entries[2]["sha256"] == hfile("/usr/big.bin") == hfile("/bak/usr/big.bin")
ok = ok and not [n for n in uos.listdir("/usr") if n.endswith(".tmp")]
print("consistent" if ok else "BROKEN %r %r" % (entries, uos.listdir("/usr")))
PY
printf 'import uos\nuos.remove("/usr/big.bin")\n' > remove_big.py
: > boot_only.py
# Runs SCRIPT on the module and kills it (power off) after DELAY seconds, then boots
# again and checks.
cut_power() {
    "$QPY" --device dev run "$1" >/dev/null 2>&1 &
    pid=$!
    sleep "$2"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    "$QPY" --device dev run verify.py | grep -E 'consistent|BROKEN'
}
for cut in "0.5 0.05" "0.7 0.1" "0.9 0.15" "1.1 0.2" "1.3 0.25" "1.6 0.3"; do
    set -- $cut
    cut_power churn.py "$1"
    # Now cut power while the boot restores big.bin.
    "$QPY" --device dev run remove_big.py >/dev/null
    cut_power boot_only.py "$2"
done
