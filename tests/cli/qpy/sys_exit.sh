# sys.exit(n) ends the run with status n; sys.exit() with 0.
"$QPY" device new dev >/dev/null
echo 'import sys; sys.exit(7)' > seven.py
"$QPY" --device dev run seven.py || echo "exit $?"
echo 'import usys; usys.exit()' > zero.py
"$QPY" --device dev run zero.py && echo "exit 0"
