# QuecPython's semaphore: getCnt() is (maxCnt, curCnt); acquire blocks at zero.
import _thread
import utime

sem = _thread.allocate_semphore(2)
print(sem.getCnt())
print(sem.acquire(), sem.acquire())
print(sem.getCnt())
got = []


def waiter():
    sem.acquire()
    got.append("got it")


_thread.start_new_thread(waiter, ())
utime.sleep_ms(50)
print(got)
sem.release()
for _ in range(500):  # bounded wait (5 s) for the waiter to wake
    if got:
        break
    utime.sleep_ms(10)
print(got, sem.getCnt())
sem.release()
sem.release()
print(sem.getCnt())
print(_thread.delete_semphore(sem))
