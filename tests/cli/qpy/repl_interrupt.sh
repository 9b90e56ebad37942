# Ctrl-C (SIGINT) interrupts the running statement with KeyboardInterrupt; the REPL goes on.
# Started in the background by a non-interactive shell, qpy gets SIGINT ignored: the
# module takes it back, as a module's Ctrl-C always works.
"$QPY" device new dev >/dev/null
mkfifo in
"$QPY" --device dev repl < in > out 2>&1 &
pid=$!
exec 3> in
printf 'while True: pass\n\n' >&3
# Wait (bounded) until the loop runs: both lines echoed, then a moment.
for i in $(seq 300); do [ "$(grep -c '^\.\.\. ' out)" -ge 1 ] && break; sleep 0.1; done
sleep 0.3
kill -INT $pid
sleep 0.5
printf 'print("after")\n' >&3
exec 3>&-
wait $pid
cat out
