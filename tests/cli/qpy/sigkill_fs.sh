# A module killed with SIGKILL while it rewrites files loses at most the write in flight:
# after the next boot every file holds a complete old or new version (littlefs commits on
# close; the flash writes through).
"$QPY" device new dev >/dev/null
cat > writer.py <<'PY'
i = 0
while True:
    with open("/usr/f%d.txt" % (i % 20), "w") as f:
        f.write(("%06d" % i) * 100)
    i += 1
    if i == 20:
        print("all written once")
PY
cat > check.py <<'PY'
import uos
files = bad = 0
for name in uos.listdir("/usr"):
    if name.startswith("f"):
        data = open("/usr/" + name).read()
        files += 1
        if len(data) != 600 or data != data[:6] * 100:
            bad += 1
print("files:", files, "damaged:", bad)
PY
for round in 1 2 3; do
    "$QPY" --device dev run writer.py > progress &
    pid=$!
    # Kill it mid-rewrite: once every file exists (bounded wait), then a moment later.
    for i in $(seq 300); do grep -qs written progress && break; sleep 0.1; done
    sleep 0.2
    kill -9 $pid
    { wait $pid; } 2>/dev/null || true
    "$QPY" --device dev run check.py
done
