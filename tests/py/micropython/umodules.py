# The MicroPython standard modules QuecPython scripts import, with their names.
import ubinascii
import ucollections
import uhashlib
import ujson
import uos
import ure
import urandom
import ustruct
import uzlib

print(ujson.dumps({"a": [1, 2.5, None, True]}), ujson.loads('{"k": "v"}'))
print(ubinascii.hexlify(uhashlib.sha256(b"abc").digest()))
print(ubinascii.hexlify(b"\x01\x02", "-"), ubinascii.unhexlify("0a0b"))
print(ubinascii.b2a_base64(b"hello"), ubinascii.a2b_base64("aGVsbG8="))
print(ustruct.pack("<HI", 1, 2), ustruct.unpack(">h", b"\xff\xfe"), ustruct.calcsize("<HI"))
Point = ucollections.namedtuple("Point", ("x", "y"))
print(Point(1, 2).x, list(ucollections.OrderedDict([("b", 1), ("a", 2)]).keys()))
d = ucollections.deque((), 5)
d.append(1)
print(d.popleft())
m = ure.match(r"(\w+)=(\d+)", "key=123")
print(m.group(1), m.group(2), ure.search(r"\d", "ab7").group(0))
print(0 <= urandom.getrandbits(8) < 256, 1 <= urandom.randint(1, 3) <= 3)
urandom.seed(1)
print(urandom.choice([5]))
# zlib stream of b"hello hello hello"; and the same data raw-deflated
z = b"x\x9c\xcbH\xcd\xc9\xc9W\xc8@\x90\x00:.\x06}"
print(uzlib.decompress(z))
print(uzlib.decompress(z[2:-4], -15))
print(len(uos.urandom(16)), type(uos.urandom(4)).__name__)
u = uos.uname()
print(u.sysname, u.nodename, u.machine)
print(uos.uname2().qpyver)
