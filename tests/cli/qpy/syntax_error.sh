# A syntax error: MicroPython's traceback on stderr, exit 1.
"$QPY" device new dev >/dev/null
printf 'print("before")\nx = = 1\n' > bad.py
"$QPY" --device dev run bad.py
