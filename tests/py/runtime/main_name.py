# A script runs as __main__ with MicroPython's exception printing available.
import sys
import usys

print(__name__)
try:
    {}["k"]
except KeyError as e:
    sys.print_exception(e)
print(usys is sys or usys.exit is sys.exit)
