# stop_thread ends another thread; the main thread and unknown ids are refused.
import _thread
import utime

state = {"ticks": 0}


def spin():
    while True:
        state["ticks"] += 1
        utime.sleep_ms(1)


def wait_stopped(tid):
    # Bounded wait (5 s): fixed sleeps are not enough on a loaded machine.
    for _ in range(500):
        if not _thread.threadIsRunning(tid):
            return
        utime.sleep_ms(10)


tid = _thread.start_new_thread(spin, ())
utime.sleep_ms(30)
print(_thread.threadIsRunning(tid))
print(_thread.stop_thread(tid))
wait_stopped(tid)
print(_thread.threadIsRunning(tid))
try:
    _thread.stop_thread(_thread.get_ident())
except ValueError as e:
    print(e)
try:
    _thread.stop_thread(12345)
except ValueError as e:
    print(e)


def self_stop(results):
    results.append("before")
    _thread.stop_thread(0)
    results.append("after")


results = []
wait_stopped(_thread.start_new_thread(self_stop, (results,)))
print(results)
