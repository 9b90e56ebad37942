# Appended to a bench/heap workload: prints what keeping its result costs on the heap,
# measured by the runtime's own gc.mem_alloc() (MicroPython's or qpy's).
import gc

gc.collect()
before = gc.mem_alloc()
keep = workload()
gc.collect()
print(gc.mem_alloc() - before)
