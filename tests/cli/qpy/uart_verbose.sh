# The UARTs' pseudo-terminals: silent without -v (the console shows only what the module
# prints), named with -v, linked in the device as uart<N> while open, gone after close.
"$QPY" device new dev > /dev/null
cat > u.py <<'PY'
import os
from machine import UART
u = UART(UART.UART2, 115200, 8, 0, 1, 0)
print(os.readlink("dev/uart2").startswith("/dev/pts/"))
u.close()
print(os.path.lexists("dev/uart2"))
PY
"$QPY" --device dev run u.py
"$QPY" -v --device dev run u.py 2>&1 | grep UART | sed "s|/dev/pts/[0-9]*|/dev/pts/N|"
# UART(9) is the script's error, with a traceback as MicroPython prints it.
echo 'from machine import UART; UART(9, 115200, 8, 0, 1, 0)' > bad.py
"$QPY" --device dev run bad.py || echo "exit $?"
