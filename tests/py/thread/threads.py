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
for _ in range(500):  # the last worker may still be leaving its function
    if not _thread.threadIsRunning(ids[0]):
        break
    utime.sleep_ms(10)
print(done)
print(_thread.threadIsRunning(ids[0]))


def wait_for(n):
    # Bounded wait (5 s) for n results: fixed sleeps are not enough on a loaded machine.
    for _ in range(500):
        if len(done) >= n:
            return
        utime.sleep_ms(10)


_thread.start_new_thread(worker, [9, 0])  # a list of arguments is accepted too
wait_for(4)
print(done[-1])
_thread.start_new_thread(lambda **kw: done.append(kw["k"]), (), {"k": "kw"})
wait_for(5)
print(done[-1])
