# The heap is the device's: figures from gc and _thread agree, allocations show up in
# them, and asking for more than the module has raises MemoryError.
import gc
import _thread

gc.collect()
free = gc.mem_free()
print(abs(free - _thread.get_heap_size()) < 200, 600000 < free <= 748032)
print(gc.collect())
block = bytearray(100000)
used = free - gc.mem_free()
print("100 KB buffer costs about 100 KB:", 100000 <= used < 102000 or used)
del block
gc.collect()
print(abs(gc.mem_free() - free) < 2000)
try:
    too_big = bytearray(1024 * 1024)
    print("allocated 1 MB")
except MemoryError:
    print("MemoryError")
items = []
try:
    while True:
        items.append(("%04d" % len(items)) * 250)  # distinct 1000-character strings
except MemoryError:
    n = len(items)
    items = None
    print("MemoryError after", "hundreds" if 200 < n < 800 else n, "strings of 1000")
gc.collect()
print(gc.mem_free() > 600000)
print(gc.threshold(), gc.isenabled())
