# _qp_repl.py - the module's REPL, MicroPython style: ">>> " and "... " prompts, results
# shown with repr, tracebacks in MicroPython's format on the REPL's own output, Ctrl-C
# interrupts the running statement, Ctrl-D on an empty line leaves.
#
# A statement continues onto "... " lines under MicroPython's rules
# (mp_repl_continue_with_input): after a compound-statement keyword until an empty line,
# or while brackets, quotes or a trailing backslash are open. When input does not come
# from a terminal (a transcript piped in), each line is echoed after its prompt as the
# module echoes what the terminal sends, so the output reads as the session did.
import os
import sys
import _qp_runtime
import _qp_traceback

_COMPOUND = ("if ", "else", "elif ", "for ", "while ", "try", "except", "finally",
             "with ", "def ", "class ", "@", "async ")


def _open_brackets(text):
    """True while the text has unclosed brackets or strings, or ends with a backslash."""
    depth = 0
    quote = None
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            i += len(quote) - 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        i += 1
    return depth > 0 or quote is not None or text.endswith("\\")


class _Input:
    def __init__(self):
        self.tty = sys.stdin.isatty()
        self.readline = None
        if self.tty:
            # Line editing and history at a terminal; the host's, so not the script's heap.
            _qp_runtime.heap_exempt_begin()
            try:
                import readline
                self.readline = readline
            except ImportError:
                pass
            finally:
                _qp_runtime.heap_exempt_end()

    def _prefill(self, text):
        self.readline.insert_text(text)
        self.readline.redisplay()

    def line(self, prompt, indent=""):
        """One line without its newline; EOFError at end of input (Ctrl-D). At a
        terminal the line starts with `indent` typed in, as MicroPython's auto-indent."""
        if self.tty:
            if indent and self.readline:
                self.readline.set_pre_input_hook(lambda: self._prefill(indent))
            try:
                return input(prompt)
            finally:
                if indent and self.readline:
                    self.readline.set_pre_input_hook(None)
        sys.stdout.write(prompt)
        # Byte by byte from the descriptor: a buffered reader would swallow input that
        # belongs to the module after a restart (the process is re-executed).
        data = bytearray()
        while True:
            c = os.read(0, 1)
            if not c:
                if not data:
                    raise EOFError
                break
            if c == b"\n":
                break
            data += c
        text = data.decode("utf-8", "replace").rstrip("\r")
        sys.stdout.write(text + "\n")
        return text


def _auto_indent(previous):
    """MicroPython's auto-indent: the previous line's indentation, one level deeper after
    a line ending with a colon."""
    indent = previous[:len(previous) - len(previous.lstrip())]
    return indent + "    " if previous.rstrip().endswith(":") else indent


def _read_statement(inp):
    text = inp.line(">>> ")
    if not text.strip():
        return None
    compound = text.lstrip().startswith(_COMPOUND) or text.rstrip().endswith(":")
    last = text
    while (compound or _open_brackets(text)):
        more = inp.line("... ", _auto_indent(last) if compound else "")
        if compound and not more.strip() and not _open_brackets(text):
            break
        text += "\n" + more
        last = more
        if not compound and not _open_brackets(text):
            break
    return text


def repl():
    main = type(sys)("__main__")
    sys.modules["__main__"] = main
    inp = _Input()
    while True:
        try:
            text = _read_statement(inp)
        except EOFError:
            if inp.tty:
                sys.stdout.write("\n")
            return 0
        except KeyboardInterrupt:
            # Ctrl-C at the prompt abandons the line, as MicroPython's readline does.
            sys.stdout.write("\n")
            continue
        if text is None:
            continue
        try:
            code = compile(text + "\n", "<stdin>", "single", dont_inherit=True)
            exec(code, main.__dict__)
        except SystemExit as e:
            code = e.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        except BaseException as e:
            _qp_traceback.print_exception(e, sys.stdout)
