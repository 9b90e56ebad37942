# An uncaught exception: output so far, then MicroPython's traceback, exit 1.
"$QPY" device new dev >/dev/null
cat > boom.py <<'PY'
def inner(d):
    return d["missing"]

def outer():
    return inner({})

print("start")
outer()
PY
"$QPY" --device dev run boom.py
