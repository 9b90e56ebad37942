# machine.UART's bad arguments: ValueError with the firmware's message naming the
# argument, checked in argument order; a bad init() leaves the UART as it was.
from machine import UART

cases = [
    (9, 115200, 8, 0, 1, 0),
    (4,),
    (-1, 115200),
    (2, 0),
    (2, 110),
    (2, 115201, 9),
    (2, 115200, 4),
    (2, 115200, 9),
    (2, 115200, 8, 3),
    (2, 115200, 8, -1),
    (2, 115200, 8, 0, 0),
    (2, 115200, 8, 0, 3),
    (2, 115200, 8, 0, 1, 2),
    (2, 115200, 8, 0, 1, -1),
]
for args in cases:
    try:
        UART(*args)
        print(args, "accepted")
    except ValueError as e:
        print(args, "ValueError:", e)

u = UART(UART.UART2, 9600)
try:
    u.init(9600, 8, 0, 7)
except ValueError as e:
    print("init ValueError:", e)
print(u)
for bad in [lambda: UART("2"), lambda: UART(2, 115200.0), lambda: UART()]:
    try:
        bad()
    except TypeError:
        print("TypeError")
try:
    u.set_callback(42)
except TypeError as e:
    print("TypeError:", e)
u.close()
try:
    u.write("after close")
except OSError as e:
    print("OSError", e.args[0] == 9)
print(u.any())
