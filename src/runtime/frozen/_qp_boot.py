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


class DeviceImporter:
    """Imports a script's own modules from the module's file systems, as MicroPython
    does: the current directory first, then /usr (`import a` finds /usr/a.py)."""

    SEARCH = ("", "/usr")

    @classmethod
    def _locate(cls, name, dirs):
        import _qp_uos
        leaf = name.rpartition(".")[2]
        for base in dirs:
            for candidate, package in ((leaf + ".py", False), (leaf + "/__init__.py", True)):
                path = base.rstrip("/") + "/" + candidate if base else candidate
                try:
                    if _qp_uos.stat(path)[0] & 0x8000:
                        return path, package
                except OSError:
                    pass
        return None, False

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        found, package = cls._locate(name, cls.SEARCH if path is None else path)
        if found is None:
            return None
        spec = _frozen_importlib.ModuleSpec(name, cls, origin=found, is_package=package)
        if package:
            spec.submodule_search_locations = [found.rpartition("/")[0]]
        spec.has_location = True
        return spec

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        import _qp_uio
        path = module.__spec__.origin
        with _qp_uio.open(path, "rb") as f:
            source = f.read()
        module.__file__ = path
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)


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


def _backup_restore():
    # The firmware's boot step: protected /usr files that are missing or changed come back
    # from /bak (backup_restore.py). Before _repl_config, as on the module, where
    # system_config.json is made after the restore.
    try:
        import backup_restore
        backup_restore.restore()
    except Exception:
        print("error ocurs in boot step.")


def _boot_names():
    # The firmware's _boot.py imports uos at its top level, and MicroPython runs it in the
    # globals that main.py and the REPL go on to share, so `uos` works there without an
    # import (checksum_repl.txt relies on it). Builtins are the nearest thing here.
    import builtins
    import uos
    builtins.uos = uos


def _repl_config():
    # As the firmware's boot: /usr/system_config.json ({"replFlag": 0}) is created when
    # absent. (The REPL is always enabled here: replFlag only locks the real USB port.)
    import _qp_uos
    if "system_config.json" not in _qp_uos.listdir("/usr"):
        import _qp_uio
        with _qp_uio.open("/usr/system_config.json", "w") as f:
            f.write('{"replFlag": 0}')


def boot():
    sys.meta_path.insert(0, FrozenImporter)
    # Builtin modules first, then the device's files, then the host's standard library
    # (which the platform's own modules stand on).
    sys.meta_path.insert(2, DeviceImporter)
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
    import _qp_uio
    builtins.open = _qp_uio.open
    import _qp_fota; sys.modules['fota'] = _qp_fota.fota  # `import fota; fota()`
    _merge_thread()
    _merge_gc()
    _backup_restore()
    _repl_config()
    _boot_names()
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


def _run_main(source, path, errors):
    """Runs source as __main__; returns the exit status."""
    import _qp_traceback
    main = type(sys)("__main__")
    main.__file__ = path
    sys.modules["__main__"] = main
    try:
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
        _wait_for_threads()
    except SystemExit as e:
        return _exit_status(e)
    except BaseException as e:
        _qp_traceback.print_exception(e, errors)
        return 1
    return 0


def run_file(path):
    # The script is a host file (qpy run SCRIPT); the builtin open is the device's now.
    import _io
    with _io.open(path, "rb") as f:
        source = f.read()
    return _run_main(source, path, sys.stderr)


def run_device_main():
    """Runs /usr/main.py when present, as the module does at power-on."""
    import _qp_uos
    import _qp_uio
    if "main.py" not in _qp_uos.listdir("/usr"):
        return 0
    with _qp_uio.open("/usr/main.py", "rb") as f:
        source = f.read()
    return _run_main(source, "/usr/main.py", sys.stdout)


def main():
    info = _qp_runtime.boot_info()
    boot()
    import _qp_console
    if _qp_console.serving():
        # `qpy serve`: the REPL on the console port runs main.py itself (and again after
        # each soft reset).
        import _qp_repl
        return _qp_repl.serve()
    if info["mode"] == "run":
        return run_file(info["script"])
    if info["mode"] == "repl":
        # A power-on runs /usr/main.py, then the REPL. (`qpy run SCRIPT` runs SCRIPT in
        # its place; the boot that ends a `qpy run` after a restart stops before it, so the
        # run returns even when main.py never ends.)
        run_device_main()
        import _qp_repl
        return _qp_repl.repl()
    return 0
