# fota().write refuses what cannot be a package download: each refusal returns -1 with the
# firmware's log line saying why, and nothing is marked for the next boot (verify() fails).
import fota

f = fota()
# file_size missing, or not positive.
print(f.write(b"abc"))
print(f.write(b"abc", 0))
# A package larger than the fota_pkg store (2 MiB, one sector of it for the store record).
print(f.write(b"abc", 3 * 1024 * 1024))
print(f.write(b"abc", 2 * 1024 * 1024))
# A download of 100 bytes: a file_size other than the first write's, then a write past it.
print(f.write(b"a" * 60, 100))
print(f.write(b"b" * 10, 200))
print(f.write(b"c" * 41, 100))
print(f.write(b"c" * 40, 100))
print(f.write(b"", 100))
print(f.write(b"d", 100))
# Complete but not a package.
print(f.verify())
# A new object starts a new download; an incomplete one does not verify.
g = fota()
print(g.write(b"e" * 10, 100))
print(g.verify())
