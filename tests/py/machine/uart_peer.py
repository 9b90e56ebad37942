# machine.UART against a peer: the script opens the other end of UART2 itself, through
# the device's uart2 link, and checks bytes both ways, any()/read() and the callback.
import os
import utime
import _qp_runtime
from machine import UART

u = UART(UART.UART2, 115200, 8, 0, 1, 0)
link = _qp_runtime.boot_info()["device"] + "/uart2"
print(os.path.islink(link))
peer = os.open(link, os.O_RDWR | os.O_NOCTTY)


def wait_any(n):
    for _ in range(300):
        if u.any() >= n:
            break
        utime.sleep_ms(10)
    return u.any()


def read_peer(n):
    # The three writes may reach the peer in separate chunks: collect n bytes (or give up
    # after 3 s) instead of trusting one read.
    import select
    data = b""
    for _ in range(300):
        if len(data) >= n:
            break
        if select.select([peer], [], [], 0.01)[0]:
            data += os.read(peer, 100)
    return data


print(u.write("Quectel count=1"), u.write(b"\x00\r\n\xff"), u.write(bytearray(b"ab")))
print(read_peer(21))
print(u.any(), u.read(5), u.read())
os.write(peer, b"Quecpython")
print(wait_any(10))
print(u.read(4), u.any())
print(u.read(100), u.any(), u.read(1), u.read(10**9))
os.write(peer, b"abc\r\ndef")
wait_any(8)
print(u.read())
os.write(peer, b"line1\nline2\npartial")
wait_any(19)
print(u.readline(), u.readline(3), u.readline(), u.readline(), u.readline())
os.write(peer, b"0123456789")
wait_any(10)
buf = bytearray(4)
print(u.readinto(buf), buf)
print(u.readinto(buf, 2), buf, u.read())

events = []


def wait_events():
    for _ in range(300):
        if events:
            break
        utime.sleep_ms(10)



def cb(para):
    events.append((para, u.read(para[2])))


print(u.set_callback(cb))
os.write(peer, b"hello")
wait_events()
print(events)
print(u.set_callback(None))
os.write(peer, b"x")
print(wait_any(1), u.read(), len(events))
os.close(peer)
print(u.close(), os.path.lexists(link))

# Closed, then asked for again: the same object reopens on a fresh pseudo-terminal, and a
# callback set while closed takes effect with the open.
print(u.set_callback(cb))
u2 = UART(UART.UART2, 9600, 8, 0, 1, 0)
print(u2 is u, os.path.islink(link), u)
peer = os.open(link, os.O_RDWR | os.O_NOCTTY)
events.clear()
os.write(peer, b"again")
wait_events()
print(events)
print(u.write("bye"), read_peer(3))
os.close(peer)
print(u.close())
