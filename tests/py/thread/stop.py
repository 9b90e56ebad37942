# stop_thread ends another thread; the main thread and unknown ids are refused.
import _thread
import utime

state = {"ticks": 0}


def spin():
    while True:
        state["ticks"] += 1
        utime.sleep_ms(1)


tid = _thread.start_new_thread(spin, ())
utime.sleep_ms(30)
print(_thread.threadIsRunning(tid))
print(_thread.stop_thread(tid))
utime.sleep_ms(50)
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
_thread.start_new_thread(self_stop, (results,))
utime.sleep_ms(50)
print(results)
