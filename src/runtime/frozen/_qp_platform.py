# _qp_platform.py - Python-level pieces of QuecPython's _thread and gc that sit on top of
# CPython's: heap figures from the runtime's budget, semaphores, delete_lock.
import gc as _gc
import _qp_runtime

# The real gc.collect, saved before boot replaces it with gc_collect.
_real_collect = _gc.collect


def heap_free():
    return _qp_runtime.heap_info()[2]


def heap_alloc():
    return _qp_runtime.heap_info()[1]


def gc_collect():
    # MicroPython's gc.collect() returns None, CPython's a count.
    _real_collect()


_threshold = -1


def gc_threshold(amount=None):
    # MicroPython: with no argument returns the threshold (-1: disabled); with one sets it.
    global _threshold
    if amount is None:
        return _threshold
    _threshold = amount


def delete_lock(lock):
    # CPython frees a lock with its last reference; the firmware's explicit delete is a
    # no-op here.
    return None


class _Semaphore:
    """QuecPython's semaphore: acquire/release and getCnt() -> (maxCnt, curCnt)."""

    def __init__(self, initcount):
        import _thread
        self._max = initcount
        self._count = initcount
        self._mutex = _thread.allocate_lock()
        self._available = _thread.allocate_lock()
        if initcount == 0:
            self._available.acquire()

    def acquire(self):
        while True:
            self._available.acquire()
            with self._mutex:
                if self._count > 0:
                    self._count -= 1
                    if self._count > 0:
                        self._available.release()
                    return True

    def release(self):
        with self._mutex:
            was_empty = self._count == 0
            self._count += 1
            if self._count > self._max:
                self._max = self._count
            if was_empty:
                self._available.release()

    def getCnt(self):
        with self._mutex:
            return (self._max, self._count)


def allocate_semphore(initcount):
    if initcount < 0:
        raise ValueError("initcount must be >= 0")
    return _Semaphore(initcount)


def delete_semphore(sem):
    return None
