# A full /usr: writing fails with ENOSPC, files written before are intact, and removing
# the big file gives the space back.
import uos

with open("/usr/keep.txt", "w") as f:
    f.write("precious")
free_before = uos.statvfs("/usr")[3]
chunk = bytes(range(256)) * 256  # 64 KiB
written = 0
try:
    with open("/usr/big.bin", "wb") as f:
        while True:
            f.write(chunk)
            written += len(chunk)
except OSError as e:
    print(e, "after", "megabytes" if written > 4000000 else written)
print(open("/usr/keep.txt").read())
try:
    uos.remove("/usr/big.bin")
except OSError as e:
    print("remove:", e)
print(uos.statvfs("/usr")[3] == free_before)
with open("/usr/after.txt", "w") as f:
    f.write("room again")
print(open("/usr/after.txt").read())
