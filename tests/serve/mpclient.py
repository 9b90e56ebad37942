"""A MicroPython REPL client in the standard library only: what pyboard.py and mpremote
send and expect on a serial port, byte for byte, for the `qpy serve` tests.

It opens the port as pyserial does (raw termios, no flush on open), enters the raw REPL
with "\\r\\x03\\x03" then "\\r\\x01", soft-resets with "\\x04", and runs code in raw-paste
mode ("\\x05A\\x01", the window protocol of MicroPython's docs/reference/repl.rst) or in
plain raw mode.
"""
import os
import select
import termios
import time


class Timeout(Exception):
    pass


class Port:
    def __init__(self, path, timeout=10.0):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        attrs = termios.tcgetattr(self.fd)
        # cfmakeraw, applied with TCSANOW so pending bytes are not flushed
        attrs[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                      | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
        attrs[1] &= ~termios.OPOST
        attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG
                      | termios.IEXTEN)
        attrs[2] = (attrs[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.timeout = timeout
        self.pending = b""

    def close(self):
        os.close(self.fd)

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def _fill(self, wait):
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return False
        chunk = os.read(self.fd, 65536)
        if not chunk:
            raise EOFError("port closed")
        self.pending += chunk
        return True

    def read(self, n):
        end = time.time() + self.timeout
        while len(self.pending) < n:
            if not self._fill(max(0, end - time.time())) and time.time() >= end:
                raise Timeout("wanted %d bytes, have %r" % (n, self.pending))
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def read_until(self, marker, timeout=None):
        end = time.time() + (timeout or self.timeout)
        while marker not in self.pending:
            if not self._fill(max(0, end - time.time())) and time.time() >= end:
                raise Timeout("no %r in %r" % (marker, self.pending))
        i = self.pending.index(marker) + len(marker)
        out, self.pending = self.pending[:i], self.pending[i:]
        return out

    def read_quiet(self, quiet=0.3):
        """Everything that arrives until the port is quiet for `quiet` seconds."""
        while self._fill(quiet):
            pass
        out, self.pending = self.pending, b""
        return out

    # ---- pyboard.py's sequence ----

    def enter_raw_repl(self, soft_reset=True):
        self.write(b"\r\x03\x03")
        self.read_quiet(0.1)
        self.write(b"\r\x01")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>")
        if soft_reset:
            self.write(b"\x04")
            self.read_until(b"soft reboot\r\n")
            self.read_until(b"raw REPL; CTRL-B to exit\r\n>")

    def exit_raw_repl(self):
        self.write(b"\r\x02")

    def raw_paste_write(self, code):
        """Sends code within the module's windows; returns the answer bytes seen."""
        inc = int.from_bytes(self.read(2), "little")
        remain = inc
        i = 0
        while i < len(code):
            while remain == 0 or self.pending or self._fill(0):
                c = self.read(1)
                if c == b"\x01":
                    remain += inc
                elif c == b"\x04":
                    self.write(b"\x04")
                    return
                else:
                    raise AssertionError("unexpected %r during raw-paste" % c)
            n = min(remain, len(code) - i)
            self.write(code[i:i + n])
            i += n
            remain -= n
        self.write(b"\x04")
        self.read_until(b"\x04")
        return inc

    def exec_raw(self, code, paste=True, timeout=None):
        """Runs code; returns (output, error text) as bytes."""
        if isinstance(code, str):
            code = code.encode()
        if paste:
            self.write(b"\x05A\x01")
            answer = self.read(2)
            assert answer == b"R\x01", answer
            self.raw_paste_write(code)
        else:
            self.write(code + b"\x04")
            assert self.read(2) == b"OK"
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04", timeout)[:-1]
        self.read_until(b">")
        return out, err
