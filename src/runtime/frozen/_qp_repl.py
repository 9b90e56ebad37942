# _qp_repl.py - the module's REPL, MicroPython style (on the terminal, and on the console
# port under `qpy serve`, see serve() below): ">>> " and "... " prompts, results
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


# ---- `qpy serve`: the REPL on the console port ------------------------------------------
#
# The byte-level protocol (friendly, paste, raw and raw-paste modes, control characters,
# the flow-control window) is the C state machine behind _qp_console (src/repl); here we
# only decide what MicroPython's grammar decides (does a line need a "... "?), run the
# code and report how it ended. Output goes to the port with "\n" as "\r\n"; sys.stderr is
# the same stream, as on the module.

class _Shutdown(BaseException):
    """SIGTERM (or SIGINT from the host, not the port): stop serving cleanly."""


class _ConsoleOut:
    encoding = "utf-8"
    errors = "strict"

    def __init__(self, con):
        self._con = con

    def write(self, text):
        self._con.write(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


class _ConsoleIn:
    """sys.stdin of running code: lines typed on the port, echoed as they come."""
    encoding = "utf-8"

    def __init__(self, con):
        self._con = con

    def readline(self, size=-1):
        line = bytearray()
        while size < 0 or len(line) < size:
            c = self._con.read(1, 100)
            if not c:
                continue
            if c in (b"\r", b"\n"):
                self._con.write_raw(b"\r\n")
                line += b"\n"
                break
            if c in (b"\x7f", b"\x08"):
                if line:
                    line.pop()
                    self._con.write_raw(b"\x08 \x08")
                continue
            self._con.write_raw(c)
            line += c
        return line.decode("utf-8", "replace")

    def read(self, size=-1):
        return self.readline(size)

    def isatty(self):
        return False


def _banner():
    # MicroPython's banner, "MicroPython <version>; <machine>", from the module's uname.
    import uos
    u = uos.uname()
    return 'MicroPython %s; %s\nType "help()" for more information.\n' % (u.version, u.machine)


def _needs_more(text):
    """MicroPython's rule for a "... " line: brackets or strings open, or a compound
    statement that has not yet been ended by an empty line."""
    if _open_brackets(text):
        return True
    lines = text.split("\n")
    first = lines[0]
    if not (first.lstrip().startswith(_COMPOUND) or first.rstrip().endswith(":")):
        return False
    return len(lines) == 1 or lines[-1].strip() != ""


def _forget_device_modules():
    # A soft reset forgets the modules imported from the file system, as MicroPython's
    # fresh heap does, so an edited /usr module is imported anew.
    boot = sys.modules.get("_qp_boot")
    importer = getattr(boot, "DeviceImporter", None)
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if importer is not None and spec is not None and spec.loader is importer:
            del sys.modules[name]


def _run(con, source, mode, main, path="<stdin>"):
    """Runs code with Ctrl-C enabled. Returns "reset" when it raised SystemExit (a soft
    reset, as MicroPython's REPL does), else None. Output and error text are separated
    by the protocol (output_end) in raw mode."""
    try:
        try:
            con.interrupt(True)
            try:
                code = compile(source, path, mode, dont_inherit=True)
                exec(code, main.__dict__)
            finally:
                con.interrupt(False)
        finally:
            con.take_interrupt()
    except _Shutdown:
        raise
    except SystemExit:
        con.output_end()
        return "reset"
    except BaseException as e:
        con.output_end()
        _qp_traceback.print_exception(e, sys.stdout)
        return None
    con.output_end()
    return None


def _run_main_py(con, main):
    import _qp_uos
    import _qp_uio
    try:
        if "main.py" not in _qp_uos.listdir("/usr"):
            return
        with _qp_uio.open("/usr/main.py", "rb") as f:
            source = f.read()
    except OSError:
        return
    main.__file__ = "/usr/main.py"
    _run(con, source, "exec", main, "/usr/main.py")


def _serve_session(con, raw):
    """One boot of the REPL (power-on or soft reset). Returns the raw flag for the soft
    reset that ends it."""
    main = type(sys)("__main__")
    sys.modules["__main__"] = main
    if not raw:
        # main.py runs after a friendly-mode reset, not a raw one (tools soft-reset in raw
        # mode precisely so that main.py does not get in their way).
        _run_main_py(con, main)
        main = type(sys)("__main__")
        sys.modules["__main__"] = main
        con.write(_banner())
    con.start(raw)
    while True:
        try:
            item = con.next_event(200)
            if item is None:
                continue
            ev, code, kind, overflow = item
            if ev == con.EV_LINE:
                text = code.decode("utf-8", "replace")
                if _needs_more(text):
                    con.cont()
                    continue
                con.exec_line()
                lines = text.split("\n")
                while len(lines) > 1 and not lines[-1].strip():
                    lines.pop()
                text = "\n".join(lines)
                if text.strip():
                    if _run(con, text + "\n", "single", main) == "reset":
                        return con.raw()
                con.done()
            elif ev == con.EV_EXEC:
                if overflow:
                    con.output_end()
                    con.write("MemoryError: code too large\n")
                elif _run(con, code, "single" if kind == con.EXEC_SINGLE else "exec",
                          main) == "reset":
                    if con.raw():
                        con.write_raw(b"\x04")
                    return con.raw()
                con.done()
            elif ev == con.EV_INTERRUPTED:
                con.output_end()
                _qp_traceback.print_exception(KeyboardInterrupt(), sys.stdout)
                con.done()
            elif ev == con.EV_SOFT_RESET:
                return con.raw()
            elif ev == con.EV_BANNER:
                con.write(_banner())
                con.prompt()
        except KeyboardInterrupt:
            # A Ctrl-C that arrived just as the code finished: nothing left to interrupt.
            continue


def serve():
    import _signal
    import _qp_console as con
    con.open()
    sys.stdout = sys.stderr = _ConsoleOut(con)
    sys.stdin = _ConsoleIn(con)

    def on_term(signum, frame):
        raise _Shutdown

    def on_int(signum, frame):
        if con.take_interrupt():
            raise KeyboardInterrupt
        raise _Shutdown  # Ctrl-C where `qpy serve` runs, not on the port

    _signal.signal(_signal.SIGTERM, on_term)
    _signal.signal(_signal.SIGINT, on_int)
    raw = False
    first = True
    try:
        while True:
            if not first:
                con.write("MPY: soft reboot\n")
                _forget_device_modules()
            first = False
            raw = _serve_session(con, raw)
    except _Shutdown:
        pass
    finally:
        sys.stdout = sys.__stdout__
        sys.stderr = sys.__stderr__
        sys.stdin = sys.__stdin__
        con.close()
    return 0
