# The embedded interpreter ignores PYTHON* variables, user site-packages and the current
# directory: its sys.path is its own.
"$QPY" device new dev >/dev/null
mkdir -p shadow
echo 'print("shadowed!")' > shadow/json.py
echo 'print("shadowed!")' > json.py
cat > probe.py <<'PY'
import sys
print(sys.flags.isolated, sys.flags.no_user_site, sys.flags.ignore_environment)
print(any("shadow" in p for p in sys.path), "" in sys.path, "." in sys.path)
import ujson
print(ujson.dumps([1]))
PY
PYTHONPATH=shadow PYTHONSTARTUP=json.py PYTHONHOME=/nonexistent PYTHONINSPECT=1 \
    "$QPY" --device dev run probe.py
