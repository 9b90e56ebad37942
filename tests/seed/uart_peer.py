#!/usr/bin/env python3
"""The host at the far end of UART2 for the seed's thread_file.py.

Runs `qpy --device DEV run thread_file.py`, opens the module's main port through the
device's `uart2` link (the pseudo-terminal's slave, as picocom would), and plays the
serial terminal the example expects: it must receive exactly "Quectel count=10" ...
"Quectel count=1" (the script writes them back to back, one a second), then it sends
"Quecpython". The script must then log the read and exit 0. Everything is bounded: the
example itself takes 10 s; the peer gives up after TIMEOUT_S and kills the module.

Usage: uart_peer.py --qpy PATH --script thread_file.py [--device DIR] [--show]
  --device DIR  use this device (default: a fresh one with the seed's identity, removed
                afterwards)
  --show        echo the module's console and the peer's side (for `make demo`)
Exit status 0 when the exchange and the script's log are as expected, 1 otherwise.
"""
import argparse
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from qpytest import new_device  # noqa: E402

TIMEOUT_S = 30
EXPECTED_RX = b"".join(b"Quectel count=%d" % n for n in range(10, 0, -1))
REPLY = b"Quecpython"
# What the script logs (stderr), in any order: the two threads race by design.
EXPECTED_LOG = sorted(
    ["INFO:Thread:write msg :Quectel count=%d" % n for n in range(10, 0, -1)]
    + ["INFO:Thread:uartread msg: Quecpython", "INFO:Thread:uartWrite end!"])


def fail(msg, proc=None):
    if proc and proc.poll() is None:
        proc.kill()  # the module we started, by its own handle
        proc.wait()
    print("uart_peer: FAIL: " + msg, file=sys.stderr)
    return 1


def wait_for_link(link, proc, deadline):
    while time.monotonic() < deadline:
        if os.path.islink(link):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


class Console:
    """The module's console (qpy's stdout and stderr), collected as it comes and, with
    --show, echoed live so the demo reads like a terminal."""

    def __init__(self, proc, show):
        self.proc, self.show = proc, show
        self.data = {proc.stdout.fileno(): b"", proc.stderr.fileno(): b""}
        self.open = set(self.data)
        self.out = sys.stdout.buffer

    def fds(self):
        return list(self.open)

    def take(self, fd):
        chunk = os.read(fd, 4096)
        if not chunk:
            self.open.discard(fd)
            return
        self.data[fd] += chunk
        if self.show:
            self.out.write(chunk)
            self.out.flush()

    def stdout(self):
        return self.data[self.proc.stdout.fileno()]

    def stderr(self):
        return self.data[self.proc.stderr.fileno()]


def pump(console, peer_fd, deadline, until):
    """Moves the console's output and collects the peer's input until until(got) is
    true or the deadline passes; returns what the peer received."""
    got = b""
    while time.monotonic() < deadline and not until(got):
        watch = console.fds() + ([peer_fd] if peer_fd is not None else [])
        if not watch:
            break
        ready, _, _ = select.select(watch, [], [], 0.1)
        for fd in ready:
            if fd == peer_fd:
                try:
                    chunk = os.read(fd, 256)
                except BlockingIOError:
                    continue
                got += chunk
                if console.show:
                    print("peer: received %r" % chunk, flush=True)
            else:
                console.take(fd)
    return got


def exchange(qpy, device, script, show):
    deadline = time.monotonic() + TIMEOUT_S
    proc = subprocess.Popen([qpy, "--device", device, "run", os.path.basename(script)],
                            cwd=os.path.dirname(os.path.abspath(script)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    console = Console(proc, show)
    link = os.path.join(device, "uart2")
    if not wait_for_link(link, proc, deadline):
        return fail("the module never opened UART2 (no %s)" % link, proc)
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        got = pump(console, fd, deadline, lambda got: len(got) >= len(EXPECTED_RX)
                   or not EXPECTED_RX.startswith(got))
        if got != EXPECTED_RX:
            return fail("received %r, expected %r" % (got, EXPECTED_RX), proc)
        os.write(fd, REPLY)
        if show:
            print("peer: sent %r" % REPLY, flush=True)
        pump(console, None, deadline, lambda got: not console.fds())
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return fail("the script did not finish within %d s" % TIMEOUT_S, proc)
    finally:
        os.close(fd)
    out, err = console.stdout(), console.stderr()
    if proc.returncode != 0:
        return fail("qpy exited with %d:\n%s" % (proc.returncode, err.decode(errors="replace")))
    log = sorted(err.decode(errors="replace").splitlines())
    if out or log != EXPECTED_LOG:
        return fail("unexpected console output:\nstdout: %r\nstderr: %r" % (out, err))
    if os.path.lexists(link):
        return fail("%s still exists after the module stopped" % link)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qpy", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--device", default=None)
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.script):
        print("uart_peer: SKIP: no %s" % args.script, file=sys.stderr)
        return 77
    qpy = os.path.abspath(args.qpy)
    if args.device:
        return exchange(qpy, os.path.abspath(args.device), args.script, args.show)
    workdir = tempfile.mkdtemp(prefix="qpy-uart-peer-")
    try:
        status = exchange(qpy, new_device(qpy, workdir), args.script, args.show)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if status == 0:
        print("uart_peer: thread_file.py exchanged %d bytes with the peer and exited 0"
              % (len(EXPECTED_RX) + len(REPLY)))
    return status


if __name__ == "__main__":
    sys.exit(main())
