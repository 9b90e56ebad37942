# usys.py - MicroPython's name for sys (with sys.print_exception, added at boot).
from sys import *  # noqa: F401,F403
from sys import print_exception  # noqa: F401
