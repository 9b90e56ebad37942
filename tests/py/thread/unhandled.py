# An exception escaping a thread is reported as MicroPython does; the module goes on.
import _thread
import utime


class Fails:
    def __call__(self):
        raise ValueError("in thread")

    def __repr__(self):
        return "<function fails>"


tid = _thread.start_new_thread(Fails(), ())
for _ in range(500):  # bounded wait (5 s): the report comes first, then main goes on
    if not _thread.threadIsRunning(tid):
        break
    utime.sleep_ms(10)
print("main goes on")
