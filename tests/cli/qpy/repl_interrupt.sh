# Ctrl-C (SIGINT) interrupts the running statement with KeyboardInterrupt; the REPL goes on.
# Started in the background by a non-interactive shell, qpy gets SIGINT ignored: the
# module takes it back, as a module's Ctrl-C always works.
"$QPY" device new dev >/dev/null
mkfifo in
"$QPY" --device dev repl < in > out 2>&1 &
pid=$!
exec 3> in
printf 'while True: pass\n\n' >&3
sleep 1
kill -INT $pid
sleep 0.5
printf 'print("after")\n' >&3
exec 3>&-
wait $pid
cat out
