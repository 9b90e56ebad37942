# powerDown() switches the module off: status 4, nothing after it runs.
"$QPY" device new dev >/dev/null
printf 'from misc import Power\nprint("bye")\nPower.powerDown()\nprint("not reached")\n' > down.py
"$QPY" --device dev run down.py || echo "exit $?"
