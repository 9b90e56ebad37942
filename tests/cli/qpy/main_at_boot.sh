# /usr/main.py runs at power-on before the REPL; `qpy run SCRIPT` runs SCRIPT in its place,
# and the boot that ends a run after a restart stops before main.py. An error in main.py
# is printed and the REPL starts.
"$QPY" device new dev >/dev/null
printf 'print("main.py ran")\n' > main.py
"$QPY" --device dev fs cp main.py :/usr/main.py
printf 'print(1 + 1)\n' | "$QPY" --device dev repl
echo
printf 'print("script")\n' > s.py
"$QPY" --device dev run s.py
printf 'from misc import Power\nPower.powerRestart()\n' > r.py
"$QPY" --device dev run r.py || echo "exit $?"
printf 'raise ValueError("bad main")\n' > main.py
"$QPY" --device dev fs cp main.py :/usr/main.py
printf 'print("repl")\n' | "$QPY" --device dev repl
echo
