# Modules on the device import: `import a` finds /usr/a.py, packages too; the current
# directory is searched first; tracebacks name the file on the device.
import uos

with open("/usr/helper.py", "w") as f:
    f.write("NAME = 'helper'\ndef twice(x):\n    return 2 * x\n")
uos.mkdir("/usr/pkg")
with open("/usr/pkg/__init__.py", "w") as f:
    f.write("from pkg.inner import VALUE\n")
with open("/usr/pkg/inner.py", "w") as f:
    f.write("VALUE = 42\n")
with open("/usr/broken.py", "w") as f:
    f.write("def fail():\n    raise ValueError('from the device')\n")

import helper
print(helper.NAME, helper.twice(21), helper.__file__)
import pkg
print(pkg.VALUE)
from pkg import inner
print(inner.__name__, inner.__file__)
import broken
try:
    broken.fail()
except ValueError as e:
    import sys
    sys.print_exception(e)
try:
    import not_there
except ImportError as e:
    print("ImportError:", e.name)
