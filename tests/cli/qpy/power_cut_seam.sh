# QPY_POWER_CUT=K:SEED, the seam of the power-cut campaigns (docs/TESTING.md §4): K = 0
# counts the flash operations of a run; K > 0 cuts the device flash's power at the K-th,
# after which nothing reaches the flash, so the next boot finds the file the script was
# rewriting as it was; a K past the run's operations changes nothing.
"$QPY" device new dev >/dev/null
printf 'with open("/usr/f.txt", "w") as f:\n    f.write("old")\n' > init.py
cat > rewrite.py <<'PY'
try:
    with open("/usr/f.txt", "w") as f:
        f.write("new" * 2000)
    print("rewritten")
except OSError as e:
    print("OSError", e.args[0])
PY
printf 'print(open("/usr/f.txt").read()[:3])\n' > show.py
"$QPY" --device dev run init.py
count=$(QPY_POWER_CUT=0 "$QPY" --device dev run rewrite.py 2>&1)
echo "$count" | sed 's/: [0-9]* flash/: N flash/'
n=$(echo "$count" | sed -n 's/^qpy: power cut: \([0-9]*\) flash.*/\1/p')
[ "$n" -gt 1 ] && echo "counted more than one operation"
"$QPY" --device dev run init.py
QPY_POWER_CUT=1:7 "$QPY" --device dev run rewrite.py 2>&1
"$QPY" --device dev run show.py
QPY_POWER_CUT=$((n + 1)):7 "$QPY" --device dev run rewrite.py 2>&1 | sed 's/: [0-9]* flash/: N flash/'
"$QPY" --device dev run show.py
