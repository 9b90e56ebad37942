# uzlib.py - MicroPython's zlib decompressor: decompress(data, wbits) and DecompIO.
#
# wbits as MicroPython reads it: 0 or positive (8..15) for a zlib stream, negative for a
# raw DEFLATE stream, 16 + (8..15) for a gzip stream.
import zlib as _zlib


def _cpython_wbits(wbits):
    if wbits >= 16:
        return 16 + 15
    if wbits < 0:
        return -15
    return 15


def decompress(data, wbits=0, bufsize=0):
    return _zlib.decompress(data, _cpython_wbits(wbits))


class DecompIO:
    """Decompresses a stream as it is read."""

    def __init__(self, stream, wbits=0):
        self._stream = stream
        self._d = _zlib.decompressobj(_cpython_wbits(wbits))
        self._buf = b""

    def _fill(self, want):
        while (want < 0 or len(self._buf) < want) and not self._d.eof:
            chunk = self._stream.read(256)
            if not chunk:
                break
            self._buf += self._d.decompress(chunk)

    def read(self, n=-1):
        self._fill(n)
        if n < 0:
            n = len(self._buf)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def readline(self):
        while b"\n" not in self._buf and not self._d.eof:
            before = len(self._buf)
            self._fill(before + 256)
            if len(self._buf) == before:
                break
        i = self._buf.find(b"\n")
        return self.read(i + 1 if i >= 0 else len(self._buf))
