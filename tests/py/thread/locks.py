# _thread: ids, heap size, locks and the QuecPython extras merged into CPython's _thread.
import _thread

print(type(_thread.get_ident()).__name__)
print(type(_thread.get_heap_size()).__name__, 100000 < _thread.get_heap_size() <= 748032)
lock = _thread.allocate_lock()
print(lock.acquire(), lock.locked())
lock.release()
print(lock.locked())
try:
    lock.release()
except RuntimeError:
    print("RuntimeError")
print(lock.acquire(0), lock.acquire(0))
lock.release()
with lock:
    print("in with:", lock.locked())
print(_thread.delete_lock(lock))
for name in ("start_new_thread", "stack_size", "get_heap_size", "threadIsRunning",
             "stop_thread", "allocate_semphore", "delete_semphore", "exit", "LockType"):
    print(name, hasattr(_thread, name))
