# Threads start, get ids, run concurrently, and are reported by threadIsRunning.
import _thread
import utime

done = []
lock = _thread.allocate_lock()


def worker(n, delay):
    utime.sleep_ms(delay)
    with lock:
        done.append(n)


ids = [_thread.start_new_thread(worker, (i, 30 * (3 - i))) for i in range(3)]
print(all(isinstance(i, int) for i in ids), len(set(ids)))
print(_thread.threadIsRunning(ids[0]))
while len(done) < 3:
    utime.sleep_ms(5)
utime.sleep_ms(20)
print(done)
print(_thread.threadIsRunning(ids[0]))
_thread.start_new_thread(worker, [9, 0])  # a list of arguments is accepted too
utime.sleep_ms(50)
print(done[-1])
_thread.start_new_thread(lambda **kw: done.append(kw["k"]), (), {"k": "kw"})
utime.sleep_ms(50)
print(done[-1])
