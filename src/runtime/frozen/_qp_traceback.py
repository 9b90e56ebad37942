# _qp_traceback.py - prints exceptions exactly as MicroPython does, so transcripts of the
# virtual module compare byte for byte with the real one.
#
# MicroPython's format: "Traceback (most recent call last):", one `  File "f", line n, in
# name` per frame (no source lines), then "Type: message" - with ": " even when there is
# no message. Frames of the platform's own frozen runner (_qp_*) are left out. Messages
# that CPython words differently are translated (MicroPython 1.12 wording).
import sys

_OPERATORS = {
    "+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__",
    "//": "__floordiv__", "%": "__mod__", "** or pow()": "__pow__", "&": "__and__",
    "|": "__or__", "^": "__xor__", "<<": "__lshift__", ">>": "__rshift__",
    "@": "__matmul__", "+=": "__iadd__", "-=": "__isub__", "*=": "__imul__",
}


def _translate(exc):
    """(type name, message) as MicroPython would print them."""
    name = type(exc).__name__
    if isinstance(exc, SyntaxError):
        if isinstance(exc, IndentationError) and exc.msg == "unexpected indent":
            return "IndentationError", "unexpected indent"
        return "SyntaxError", "invalid syntax"
    msg = str(exc)
    if isinstance(exc, OSError):
        # CPython picks a subclass (FileNotFoundError...) from the errno; MicroPython
        # has only OSError.
        return "OSError", msg
    if isinstance(exc, RecursionError):
        return "RuntimeError", "maximum recursion depth exceeded"
    if isinstance(exc, ModuleNotFoundError):
        return "ImportError", "no module named '%s'" % exc.name
    if isinstance(exc, NameError) and msg.endswith(" is not defined"):
        return name, msg.replace(" is not defined", " isn't defined")
    if isinstance(exc, ZeroDivisionError):
        return name, "divide by zero"
    if isinstance(exc, AttributeError) and msg.startswith("module '"):
        return name, "'module' object has no attribute '%s'" % msg.rsplit("'", 2)[-2]
    if isinstance(exc, TypeError) and msg.startswith("unsupported operand type(s) for "):
        # "unsupported operand type(s) for +: 'int' and 'str'"
        op, _, types = msg[len("unsupported operand type(s) for "):].partition(": ")
        left, _, right = types.partition(" and ")
        if op in _OPERATORS:
            return name, "unsupported types for %s: %s, %s" % (_OPERATORS[op], left, right)
    return name, msg


def _frames(exc):
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith("_qp_"):
            frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return frames


def format_exception(exc):
    lines = ["Traceback (most recent call last):\n"]
    for filename, lineno, name in _frames(exc):
        lines.append('  File "%s", line %d, in %s\n' % (filename, lineno, name))
    if isinstance(exc, SyntaxError):
        # The parser's position: file and line, no function (MicroPython prints none).
        lines.append('  File "%s", line %d\n' % (exc.filename, exc.lineno or 1))
    name, msg = _translate(exc)
    lines.append("%s: %s\n" % (name, msg))
    return "".join(lines)


def print_exception(exc, file=None):
    (file or sys.stdout).write(format_exception(exc))


def excepthook(exc_type, exc, tb):
    if exc is None:
        exc = exc_type()
    print_exception(exc, sys.stderr)
