# _qp_boot.py - boots the virtual module: the frozen-module importer, QuecPython's
# additions to CPython's built-in modules, the boot sequence, then a script or the REPL.
#
# The C runtime compiles this module from the frozen table and calls main(); everything
# else Python-level in the platform is imported through FrozenImporter below, never from
# the source tree. Its frames are hidden from the tracebacks scripts see.
import sys
import _frozen_importlib
import _qp_runtime


class FrozenImporter:
    """Serves the platform's frozen Python modules (log, ujson, ...) by name."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is not None or _qp_runtime.frozen_source(name) is None:
            return None
        return _frozen_importlib.ModuleSpec(name, cls, origin=name + ".py")

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        # On the module a frozen module lives in flash: loading it (and the host library
        # modules it stands on) is not charged to the script's heap.
        name = module.__name__
        _qp_runtime.heap_exempt_begin()
        try:
            code = compile(_qp_runtime.frozen_source(name), name + ".py", "exec",
                           dont_inherit=True)
            exec(code, module.__dict__)
        finally:
            _qp_runtime.heap_exempt_end()


def _merge_thread():
    # _thread is CPython's; QuecPython's extras come from _qp_thread (house-style trap 3).
    import _thread
    import _qp_thread
    import _qp_platform
    _thread.start_new_thread = _qp_thread.start_new_thread
    _thread.stack_size = _qp_thread.stack_size
    _thread.threadIsRunning = _qp_thread.threadIsRunning
    _thread.stop_thread = _qp_thread.stop_thread
    _thread.get_heap_size = _qp_platform.heap_free
    _thread.delete_lock = _qp_platform.delete_lock
    _thread.allocate_semphore = _qp_platform.allocate_semphore
    _thread.delete_semphore = _qp_platform.delete_semphore


def _merge_gc():
    # MicroPython's gc: collect() returns None; mem_free/mem_alloc report the budget.
    import gc
    import _qp_platform
    gc.collect = _qp_platform.gc_collect
    gc.mem_free = _qp_platform.heap_free
    gc.mem_alloc = _qp_platform.heap_alloc
    gc.threshold = _qp_platform.gc_threshold


def boot():
    sys.meta_path.insert(0, FrozenImporter)
    # Ctrl-C always reaches the module, even when qpy was started with SIGINT ignored (as
    # a shell starts background jobs): CPython only takes SIGINT over when it is default.
    import _signal
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    import builtins
    import _qp_traceback
    import _qp_help
    sys.excepthook = _qp_traceback.excepthook
    sys.print_exception = _qp_traceback.print_exception
    builtins.help = _qp_help.help
    _merge_thread()
    _merge_gc()
    # From here on the application's heap is counted.
    _qp_runtime.heap_start_budget()


def _exit_status(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(str(code) + "\n")
    return 1


def _wait_for_threads():
    # On the module, threads go on after the script's last line; `qpy run` ends when the
    # last of them has finished.
    import _qp_thread
    import utime
    while _qp_thread.running_count():
        utime.sleep_ms(10)


def run_file(path):
    import _qp_traceback
    with open(path, "rb") as f:
        source = f.read()
    main = type(sys)("__main__")
    main.__file__ = path
    sys.modules["__main__"] = main
    try:
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
        _wait_for_threads()
    except SystemExit as e:
        return _exit_status(e)
    except BaseException as e:
        _qp_traceback.print_exception(e, sys.stderr)
        return 1
    return 0


def main():
    info = _qp_runtime.boot_info()
    boot()
    if info["mode"] == "run":
        return run_file(info["script"])
    if info["mode"] == "repl":
        import _qp_repl
        return _qp_repl.repl()
    return 0
