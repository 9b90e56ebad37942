# micropython.py - MicroPython's micropython module: const, the code-emitter decorators
# (which change nothing on CPython), mem_info from the module's heap budget, and the
# rest of its small API.
import _qp_runtime

_opt_level = 0


def const(expr):
    return expr


def native(f):
    return f


viper = native
asm_thumb = native


def opt_level(level=None):
    global _opt_level
    if level is None:
        return _opt_level
    _opt_level = level


def alloc_emergency_exception_buf(size):
    return None


def mem_info(verbose=None):
    budget, used, free, peak = _qp_runtime.heap_info()
    import _thread
    print("stack: 0 out of %d" % _thread.stack_size())
    print("GC: total: %d, used: %d, free: %d" % (budget, used, free))
    if verbose is not None:
        print(" max used: %d" % peak)


def qstr_info(verbose=None):
    print("qstr pool: n_pool=0, n_qstr=0, n_str_data_bytes=0, n_total_bytes=0")


def stack_use():
    return 0


def heap_lock():
    return 0


def heap_unlock():
    return 0


def kbd_intr(chr):
    return None


def schedule(func, arg):
    _qp_runtime.schedule(func, arg)
