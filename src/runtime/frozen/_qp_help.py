# _qp_help.py - MicroPython's help(): the welcome text, or "object X is of type T" and the
# object's names, printed as MicroPython prints them (strings without quotes, functions
# as <function>), in the order the object defines them.
import sys

_WELCOME = """Welcome to MicroPython!

For online docs please visit http://docs.micropython.org/

Control commands:
  CTRL-A        -- on a blank line, enter raw REPL mode
  CTRL-B        -- on a blank line, enter normal REPL mode
  CTRL-C        -- interrupt a running program
  CTRL-D        -- on a blank line, exit or do a soft reset
  CTRL-E        -- on a blank line, enter paste mode

For further help on a specific object, type help(obj)
"""

_builtin_function = type(len)
_method_descriptor = type(str.join)
_function = type(lambda: None)


def _mp_str(value):
    """str(value) as MicroPython prints it."""
    if isinstance(value, type(sys)):
        return "<module '%s'>" % value.__name__
    if isinstance(value, (_builtin_function, _method_descriptor)):
        return "<function>"
    if isinstance(value, _function):
        return "<function %s at 0x%x>" % (value.__name__, id(value))
    if isinstance(value, staticmethod):
        return "<staticmethod>"
    if isinstance(value, classmethod):
        return "<classmethod>"
    if isinstance(value, type):
        return "<class '%s'>" % value.__name__
    return str(value)


def _names(obj):
    if isinstance(obj, type(sys)):
        table = vars(obj)
        keep = ("__name__",)
    else:
        table = vars(obj if isinstance(obj, type) else type(obj))
        keep = ()
    for key, value in table.items():
        if key.startswith("__") and key.endswith("__") and key not in keep:
            continue
        yield key, value


def help(obj=None):
    if obj is None:
        sys.stdout.write(_WELCOME)
        return
    out = ["object %s is of type %s\n" % (_mp_str(obj), type(obj).__name__)]
    for key, value in _names(obj):
        out.append("  %s -- %s\n" % (key, _mp_str(value)))
    sys.stdout.write("".join(out))
