# The micropython module: const, emitter decorators, opt_level, schedule, mem_info.
import micropython
from micropython import const

X = const(42)
print(X)


@micropython.native
def f(a):
    return a * 2


@micropython.viper
def g(a):
    return a + 1


print(f(3), g(3))
print(micropython.opt_level(), micropython.opt_level(2), micropython.opt_level())
print(micropython.alloc_emergency_exception_buf(100))
called = []
micropython.schedule(called.append, "scheduled")
for _ in range(1000):
    if called:
        break
print(called)


class Capture:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


import sys

out, sys.stdout = sys.stdout, Capture()
micropython.mem_info()
captured, sys.stdout = sys.stdout.text, out
lines = captured.splitlines()
print(lines[0].split()[0], lines[1].split(",")[0])
