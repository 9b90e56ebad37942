# A thread's stack is the device's (8 KiB by default): deep recursion fails there with
# MicroPython's RuntimeError, while stack_size() raises the limit for later threads.
import _thread
import utime

results = []


def depth(n):
    return n if n == 0 else 1 + depth(n - 1)


def try_depth(n):
    try:
        results.append(depth(n))
    except RuntimeError as e:
        results.append(str(e))


print(_thread.stack_size())
_thread.start_new_thread(try_depth, (10,))
_thread.start_new_thread(try_depth, (200,))
while len(results) < 2:
    utime.sleep_ms(5)
print(sorted(results, key=str))
print(_thread.stack_size(64 * 1024))
print(_thread.stack_size())
_thread.start_new_thread(try_depth, (200,))
while len(results) < 3:
    utime.sleep_ms(5)
print(results[2])
print(_thread.stack_size(100))
print(_thread.stack_size())
