# A script that does not exist: a clear message, exit 2, and the module does not boot.
"$QPY" device new dev >/dev/null
"$QPY" --device dev run nope.py
