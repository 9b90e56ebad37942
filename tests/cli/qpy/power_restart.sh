# powerRestart() reboots the module: the script stops there, the module boots again and
# `qpy run` ends with status 3.
"$QPY" device new dev >/dev/null
cat > restart.py <<'PY'
from misc import Power
print("power on reason", Power.powerOnReason())
Power.powerRestart()
print("not reached")
PY
"$QPY" --device dev run restart.py || echo "exit $?"
