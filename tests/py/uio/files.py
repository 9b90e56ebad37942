# uio.open and the builtin open on /usr: text and binary modes, with, readline,
# iteration, seek/tell, append, exclusive create, readinto.
import uio
import uos

uos.chdir("/usr")
fd = uio.open("test.py", mode="w")
print(fd.write("quectel"))
fd.close()
fd = uio.open("test.py", mode="r")
print(fd.read())
fd.close()
print(repr(fd)[:18])

with open("/usr/lines.txt", "w") as f:
    f.write("one\ntwo\n")
    f.write("three")
with open("lines.txt", "a") as f:
    f.write("\nfour\n")
with open("lines.txt") as f:
    print(f.readline(), end="")
    print([line for line in f])
with open("lines.txt") as f:
    print(f.readlines())
    print(f.tell(), f.seek(4), f.read(3), f.tell(), f.seek(-5, 2), f.read())
print(uos.stat("lines.txt")[6])

with open("data.bin", "wb") as f:
    print(f.write(bytes(range(256))), f.write(bytearray(b"\x00\xff")))
with open("data.bin", "rb") as f:
    data = f.read()
    print(type(data).__name__, len(data), data[:4], data[-3:])
    f.seek(10)
    buf = bytearray(5)
    print(f.readinto(buf), buf)
with open("data.bin", "r+b") as f:
    f.seek(0)
    f.write(b"AB")
    f.seek(0)
    print(f.read(4))

with open("utf8.txt", "w") as f:
    print(f.write("设置日志"))
with open("utf8.txt") as f:
    print(f.read(1), f.read())

try:
    open("lines.txt", "x")
except OSError as e:
    print("x on existing:", e)
with open("new.txt", "x") as f:
    f.write("made")
print(open("new.txt").read())
try:
    open("/usr/none.txt")
except OSError as e:
    print(e)
try:
    open("/usr", "r")
except OSError as e:
    print(e)
try:
    open("/bak/a.txt", "w")
except OSError as e:
    print(e)
try:
    open("a.txt", "rw")
except ValueError as e:
    print("ValueError:", e)
f = open("new.txt")
f.close()
try:
    f.read()
except OSError as e:
    print("closed:", e)
print(sorted(uos.listdir()))
