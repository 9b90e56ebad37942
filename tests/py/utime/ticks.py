# Tick counters wrap at 2**30 and ticks_diff/ticks_add follow MicroPython's ring rules.
import utime

MAX = 0x3FFFFFFF
print(utime.ticks_diff(5, 3), utime.ticks_diff(3, 5))
print(utime.ticks_diff(1, MAX), utime.ticks_add(MAX, 2), utime.ticks_add(1, -2) == MAX)
print(utime.ticks_diff(utime.ticks_add(100, 1000), 100))
t = utime.ticks_ms()
print(0 <= t <= MAX, 0 <= utime.ticks_us() <= MAX, 0 <= utime.ticks_cpu() <= MAX)
start = utime.ticks_ms()
utime.sleep_ms(50)
elapsed = utime.ticks_diff(utime.ticks_ms(), start)
print("slept 50 ms:", 45 <= elapsed < 1000)
start = utime.ticks_us()
utime.sleep_us(2000)
print("slept 2 ms:", utime.ticks_diff(utime.ticks_us(), start) >= 1900)
start = utime.ticks_ms()
utime.sleep(0.05)
print("slept 0.05 s:", utime.ticks_diff(utime.ticks_ms(), start) >= 45)
utime.sleep_ms(-5)  # negative: no delay, no error
