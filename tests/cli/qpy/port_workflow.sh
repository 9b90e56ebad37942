# qpy serve keeps a module running; qpy --port works on it over its REPL port (QPYcom's
# job): copies both ways with a checksum, a listing, a script run (its output and exit
# status), exec, errors, a restart that keeps the port, and SIGTERM, which removes the link.
"$QPY" device new dev >/dev/null
"$QPY" --device dev serve > serve.out &
pid=$!
i=0
while [ ! -L dev/repl ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(readlink dev/repl)
cat > app.py <<'PY'
import ujson
d = ujson.loads(open("/usr/cfg.json").read())
print("name:", d["name"])
raise ValueError("bad " + d["name"])
PY
printf '{"name": "demo"}' > cfg.json
"$QPY" --device dev --port auto fs cp app.py cfg.json :/usr/
"$QPY" --device dev --port auto fs ls
"$QPY" --device dev --port auto run app.py 2> err.txt || echo "run exit $?"
tail -1 err.txt
"$QPY" --device dev --port "$port" exec 'print(1 + 1)'
"$QPY" --device dev --port auto fs cat /usr/cfg.json
echo
"$QPY" --device dev --port auto fs cp :/usr/cfg.json back.json
cmp cfg.json back.json && echo "same bytes"
"$QPY" --device dev --port auto fs rm /usr/nothere 2>&1 || echo "rm exit $?"
"$QPY" --device dev --port auto frob 2> /dev/null || echo "usage exit $?"
"$QPY" --device dev --port auto reset
test "$(readlink dev/repl)" = "$port" && echo "same port after the restart"
kill -TERM $pid
wait $pid && echo "serve exit 0"
test -e dev/repl || echo "link removed"
"$QPY" --device dev --port auto exec 1 2>&1 || echo "exec exit $?"
sed "s|$port|PTY|" serve.out
