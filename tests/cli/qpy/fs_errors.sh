# qpy fs refuses clearly: missing files, directories without -r, host-to-host copies,
# and a device whose module is running (its flash is locked).
"$QPY" device new dev >/dev/null
mkdir d
"$QPY" --device dev fs cat /usr/none.txt || echo "exit $?"
"$QPY" --device dev fs cp d :/usr/ || echo "exit $?"
"$QPY" --device dev fs cp a b || echo "exit $?"
"$QPY" --device dev fs cp nofile :/usr/x || echo "exit $?"
"$QPY" --device dev fs mkdir /newtop || echo "exit $?"
"$QPY" --device dev fs frob || echo "exit $?"
mkfifo in
"$QPY" --device dev repl < in > out &
exec 3> in
# Wait (bounded) until the module is up: its prompt is out.
for i in $(seq 300); do grep -q '>>>' out && break; sleep 0.1; done
"$QPY" --device dev fs ls 2> locked.txt || echo "exit $?"
sed 's|^qpy: .*dev/flash.img|qpy: dev/flash.img|' locked.txt
exec 3>&-
wait
