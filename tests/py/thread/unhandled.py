# An exception escaping a thread is reported as MicroPython does; the module goes on.
import _thread
import utime


class Fails:
    def __call__(self):
        raise ValueError("in thread")

    def __repr__(self):
        return "<function fails>"


_thread.start_new_thread(Fails(), ())
utime.sleep_ms(100)
print("main goes on")
