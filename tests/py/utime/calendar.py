# localtime/mktime on QuecPython's 1970 epoch, with the module's time zone.
import utime

print(utime.localtime(0))
print(utime.localtime(951782400))  # 2000-02-29, a Tuesday
print(utime.mktime((2000, 2, 29, 0, 0, 0, 0, 0)))
print(utime.mktime((2021, 1, 1, 0, 0, 0)))
print(utime.getTimeZone())
print(utime.setTimeZone(8))
print(utime.localtime(0))
print(utime.mktime((1970, 1, 1, 8, 0, 0, 0, 0)))
now = utime.time()
print(type(now).__name__, now > 1600000000)
print(len(utime.localtime()))
try:
    utime.setTimeZone(13)
except ValueError as e:
    print("ValueError:", e)
