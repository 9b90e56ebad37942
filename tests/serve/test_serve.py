#!/usr/bin/env python3
"""End-to-end tests of `qpy serve` through its pseudo-terminal, with a stdlib-only client
that speaks MicroPython's REPL protocol byte for byte as pyboard.py does (mpclient.py),
and of the host CLI `qpy --port` against a served module.

Covers: the friendly REPL's bytes, Ctrl-C in running code, Ctrl-D soft reset (main.py
again), paste mode, the raw REPL and raw-paste (MicroPython's documented example, and
flow control on 200 KB of code), main.py at boot, powerRestart() keeping the pty path,
SIGTERM and SIGKILL followed by a reboot with intact files, a 1 MB binary file copied
both ways (timing printed), a broken link mid-transfer, ENOSPC, missing or busy ports and
a module that does not answer.

Usage: test_serve.py --qpy PATH [unittest options]
"""
import argparse
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import serial  # Debian's python3-serial (scripts/setup.sh installs it)
except ImportError:
    serial = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from mpclient import Port  # noqa: E402
from qpytest import new_device  # noqa: E402

QPY = None
BANNER = re.compile(rb'MicroPython v1\.12 on [^;\r\n]+; EC600S with QUECTEL\r\n'
                    rb'Type "help\(\)" for more information\.\r\n>>> $')


class Served:
    """A `qpy serve` process on a device; stopped (SIGTERM, then SIGKILL) at exit."""

    def __init__(self, device):
        self.device = device
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        self.proc = subprocess.Popen([QPY, "--device", device, "serve"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"qpy: serving .*: REPL on (/dev/pts/\d+) \(.*/repl\)\n$", line)
        assert m, (line, self.proc.stderr.read())
        self.path = m.group(1)
        assert os.readlink(os.path.join(device, "repl")) == self.path

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


def qpy_port(device, *args, timeout=60, env_extra=None):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    env.update(env_extra or {})
    return subprocess.run([QPY, "--device", device, "--port", "auto"] + list(args),
                          capture_output=True, timeout=timeout, env=env)


class ServeTest(unittest.TestCase):
    @staticmethod
    def holds(pid, path):
        """True when process pid has the file `path` open."""
        fds = "/proc/%d/fd" % pid
        try:
            return any(os.readlink(os.path.join(fds, fd)) == path for fd in os.listdir(fds))
        except OSError:
            return False

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qpy-serve-")
        self.device = new_device(QPY, self.tmp)
        self.served = []

    def tearDown(self):
        for s in self.served:
            s.stop(signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self):
        s = Served(self.device)
        self.served.append(s)
        return s

    def port(self, served):
        p = Port(served.path)
        self.addCleanup(p.close)
        return p

    def boot_banner(self, port):
        out = port.read_until(b">>> ")
        self.assertRegex(out, BANNER)
        return out


class FriendlyRepl(ServeTest):
    def test_prompt_echo_and_results(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.write(b"1+1\r")
        self.assertEqual(p.read_until(b">>> "), b"1+1\r\n2\r\n>>> ")
        p.write(b"for i in range(2):\rprint(i)\r\r")
        self.assertEqual(p.read_until(b">>> "),
                         b"for i in range(2):\r\n...     print(i)\r\n...     \r\n0\r\n1\r\n>>> ")
        p.write(b"1/0\r")
        self.assertEqual(p.read_until(b">>> "),
                         b"1/0\r\nTraceback (most recent call last):\r\n"
                         b'  File "<stdin>", line 1, in <module>\r\n'
                         b"ZeroDivisionError: divide by zero\r\n>>> ")

    def test_ctrl_c_interrupts_running_code(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        for code in (b"while True: pass\r\r", b"import utime\rutime.sleep(60)\r"):
            p.write(code)
            time.sleep(0.3)
            p.write(b"\x03")
            out = p.read_until(b"KeyboardInterrupt: \r\n>>> ", timeout=5)
            self.assertIn(b"Traceback (most recent call last):\r\n", out)
        p.write(b"print('after')\r")
        self.assertEqual(p.read_until(b">>> "), b"print('after')\r\nafter\r\n>>> ")

    def test_ctrl_d_soft_reset_runs_main_again(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.write(b"f=open('/usr/main.py','w'); f.write('print(\"main ran\")'); f.close()\r")
        p.read_until(b">>> ")
        p.write(b"x = 5\r")
        p.read_until(b">>> ")
        p.write(b"\x04")
        out = p.read_until(b">>> ")
        self.assertTrue(out.startswith(b"\r\nMPY: soft reboot\r\nmain ran\r\nMicroPython "), out)
        p.write(b"x\r")
        self.assertIn(b"NameError: name 'x' isn't defined\r\n>>> ", p.read_until(b">>> "))

    def test_paste_mode(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.write(b"\x05if 1:\r    print('pasted')\r\x04")
        self.assertEqual(p.read_until(b">>> "),
                         b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== if 1:\r\n"
                         b"===     print('pasted')\r\n=== \r\npasted\r\n>>> ")
        p.write(b"\x05print('no')\x03")
        self.assertEqual(p.read_until(b">>> "), b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to "
                         b"finish\r\n=== print('no')\r\n>>> ")


class RawRepl(ServeTest):
    def test_raw_repl_bytes(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.write(b"\x01")
        self.assertEqual(p.read_until(b">"), b"\r\nraw REPL; CTRL-B to exit\r\n>")
        p.write(b"print(123)\x04")
        self.assertEqual(p.read_until(b">"), b"OK123\r\n\x04\x04>")
        p.write(b"print('out')\r\nraise ValueError(7)\x04")
        self.assertEqual(p.read_until(b"\x04>"),
                         b"OKout\r\n\x04Traceback (most recent call last):\r\n"
                         b'  File "<stdin>", line 2, in <module>\r\nValueError: 7\r\n\x04>')
        # MicroPython's documented raw-paste example (window 16384 here, not 128).
        p.write(b"\x05A\x01")
        self.assertEqual(p.read(5), b"R\x01\x00\x40\x01")
        p.write(b"print(123)\x04")
        self.assertEqual(p.read_until(b">"), b"\x04123\r\n\x04\x04>")
        p.write(b"\x02")
        self.assertRegex(p.read_until(b">>> "), b"^\r\n" + BANNER.pattern)

    def test_soft_reset_in_raw_mode_skips_main(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.enter_raw_repl(soft_reset=False)
        p.exec_raw("f=open('/usr/main.py','w'); f.write('print(\"main ran\")'); f.close()")
        p.write(b"\x04")
        self.assertEqual(p.read_until(b">"),
                         b"OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>")
        self.assertEqual(p.exec_raw("print(__name__)"), (b"__main__\r\n", b""))

    def test_raw_paste_flow_control_200k(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.enter_raw_repl()
        # Mostly comments: the point is the window protocol, not the module's heap.
        body = b"".join(b"# line %d %s\n" % (i, b"." * 40) for i in range(4000))
        code = body + b"print(3700)\n"
        self.assertGreater(len(code), 200000)
        p.write(b"\x05A\x01")
        self.assertEqual(p.read(2), b"R\x01")
        inc = p.raw_paste_write(code)
        self.assertEqual(inc, 16384)
        self.assertEqual(p.read_until(b"\x04>"), b"3700\r\n\x04\x04>")

    def test_ctrl_c_in_raw_mode(self):
        p = self.port(self.serve())
        self.boot_banner(p)
        p.enter_raw_repl()
        p.write(b"import utime\nutime.sleep(60)\x04")
        self.assertEqual(p.read(2), b"OK")
        time.sleep(0.3)
        p.write(b"\x03")
        out = p.read_until(b"\x04>", timeout=5)
        self.assertTrue(out.startswith(b"\x04Traceback (most recent call last):\r\n"), out)
        self.assertTrue(out.endswith(b"KeyboardInterrupt: \r\n\x04>"), out)


class Lifecycle(ServeTest):
    def test_main_py_at_boot(self):
        script = os.path.join(self.tmp, "main.py")
        with open(script, "w") as f:
            f.write("print('hello from main.py')\n")
        subprocess.run([QPY, "--device", self.device, "fs", "cp", script, ":/usr/main.py"],
                       check=True, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        p = self.port(self.serve())
        out = self.boot_banner(p)
        self.assertTrue(out.startswith(b"hello from main.py\r\nMicroPython v1.12"), out)

    def test_power_restart_keeps_the_pty(self):
        s = self.serve()
        p = self.port(s)
        self.boot_banner(p)
        p.write(b"import misc; misc.Power.powerRestart()\r")
        self.boot_banner(p)  # the new boot, on the same open port
        self.assertEqual(os.readlink(os.path.join(self.device, "repl")), s.path)
        p.write(b"misc = __import__('misc'); misc.Power.powerOnReason()\r")
        self.assertTrue(p.read_until(b">>> ").endswith(b"\r\n2\r\n>>> "))
        self.assertIsNone(s.proc.poll())

    def test_sigterm_then_reboot(self):
        s = self.serve()
        data = os.urandom(20000)
        src = os.path.join(self.tmp, "data.bin")
        with open(src, "wb") as f:
            f.write(data)
        r = qpy_port(self.device, "fs", "cp", src, ":/usr/data.bin")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.stop(signal.SIGTERM), 0)
        self.assertFalse(os.path.lexists(os.path.join(self.device, "repl")))
        s2 = self.serve()
        back = os.path.join(self.tmp, "back.bin")
        r = qpy_port(self.device, "fs", "cp", ":/usr/data.bin", back)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(back, "rb") as f:
            self.assertEqual(f.read(), data)
        s2.stop()

    def test_sigkill_mid_transfer_fails_cleanly_and_reboots(self):
        s = self.serve()
        keep = os.path.join(self.tmp, "keep.txt")
        with open(keep, "w") as f:
            f.write("kept\n")
        self.assertEqual(qpy_port(self.device, "fs", "cp", keep, ":/usr/keep.txt").returncode, 0)
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(4 * 1024 * 1024))
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        cp = subprocess.Popen([QPY, "--device", self.device, "--port", "auto", "fs", "cp",
                               big, ":/usr/big.bin"], stderr=subprocess.PIPE, env=env)
        # Kill once cp is talking to the module (it holds the pty open), not after a fixed
        # time: on a loaded machine cp may not have connected yet.
        deadline = time.monotonic() + 20
        while not self.holds(cp.pid, s.path) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        s.stop(signal.SIGKILL)
        _, err = cp.communicate(timeout=30)
        self.assertEqual(cp.returncode, 1)
        self.assertRegex(err.decode(), r"qpy: /dev/pts/\d+: the connection to the module was lost\n")
        # The lock died with the module: a new server starts and the files are intact.
        self.serve()
        r = qpy_port(self.device, "fs", "cat", "/usr/keep.txt")
        self.assertEqual((r.returncode, r.stdout), (0, b"kept\n"), r.stderr)


class HostCli(ServeTest):
    def test_cp_1mb_round_trip(self):
        self.serve()
        data = os.urandom(1024 * 1024)
        src = os.path.join(self.tmp, "one.bin")
        with open(src, "wb") as f:
            f.write(data)
        t0 = time.time()
        r = qpy_port(self.device, "fs", "cp", src, ":/usr/one.bin")
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        back = os.path.join(self.tmp, "back.bin")
        r = qpy_port(self.device, "fs", "cp", ":/usr/one.bin", back)
        t2 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(back, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(data).digest())
        sys.stderr.write("\n  cp 1 MB over the pty: to the module %.2f s (%.0f KB/s), back "
                         "%.2f s (%.0f KB/s)\n" % (t1 - t0, 1024 / (t1 - t0), t2 - t1,
                                                   1024 / (t2 - t1)))

    def test_enospc_leaves_nothing_behind(self):
        self.serve()
        big = os.path.join(self.tmp, "huge.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(6 * 1024 * 1024))  # /usr holds 5 MB
        r = qpy_port(self.device, "fs", "cp", big, ":/usr/huge.bin")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, b"qpy: /usr/huge.bin: no space left\n")
        r = qpy_port(self.device, "fs", "ls")
        self.assertNotIn(b"huge.bin", r.stdout)

    def test_run_exec_and_exit_status(self):
        self.serve()
        ok = os.path.join(self.tmp, "ok.py")
        with open(ok, "w") as f:
            f.write("for i in range(3):\n    print('line', i)\n")
        r = qpy_port(self.device, "run", ok)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, b"line 0\nline 1\nline 2\n", b""))
        bad = os.path.join(self.tmp, "bad.py")
        with open(bad, "w") as f:
            f.write("print('before')\nraise OSError(2)\n")
        r = qpy_port(self.device, "run", bad)
        self.assertEqual((r.returncode, r.stdout), (1, b"before\n"))
        self.assertTrue(r.stderr.endswith(b"OSError: 2\n"), r.stderr)
        r = qpy_port(self.device, "exec", "import uos; print(uos.listdir('/usr'))")
        self.assertEqual(r.stdout, b"['system_config.json']\n")

    def test_port_errors(self):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        r = subprocess.run([QPY, "--port", "/dev/nonexistent-port", "exec", "1"],
                           capture_output=True, env=env)
        self.assertEqual((r.returncode, r.stderr),
                         (5, b"qpy: /dev/nonexistent-port: no such port\n"))
        r = subprocess.run([QPY, "--device", self.device, "--port", "auto", "exec", "1"],
                           capture_output=True, env=env)
        self.assertEqual(r.returncode, 5)
        self.assertIn(b"no module is being served from", r.stderr)
        # A port nobody answers on: a pty whose master we hold and never read.
        master, slave = os.openpty()
        name = os.ttyname(slave)
        r = subprocess.run([QPY, "--port", name, "exec", "1"], capture_output=True,
                           env=dict(env, QPY_TIMEOUT_MS="500"), timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, ("qpy: %s: the module does not answer (no reply within "
                                    "0.5 s)\n" % name).encode())
        # Busy: another program holds the port (as pyserial's exclusive mode).
        fd = os.open(name, os.O_RDWR | os.O_NOCTTY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = subprocess.run([QPY, "--port", name, "exec", "1"], capture_output=True, env=env)
        self.assertEqual((r.returncode, r.stderr),
                         (5, ("qpy: %s: port busy (another program has it open)\n"
                              % name).encode()))
        for d in (fd, master, slave):
            os.close(d)


@unittest.skipIf(serial is None, "python3-serial is not installed")
class PySerialPeer(ServeTest):
    """A REPL transcript with pyserial at the other end, as a user's tool would be."""

    def test_repl_transcript(self):
        s = self.serve()
        port = serial.Serial(s.path, 115200, timeout=5)
        self.addCleanup(port.close)
        self.assertRegex(port.read_until(b">>> "), BANNER)
        for typed, answer in [
                (b"import modem\r", b"import modem\r\n>>> "),
                (b"modem.getDevModel()\r", b"modem.getDevModel()\r\n'EC600S'\r\n>>> "),
                (b"def f(x):\rreturn x * 2\r\r",
                 b"def f(x):\r\n...     return x * 2\r\n...     \r\n>>> "),
                (b"f(21)\r", b"f(21)\r\n42\r\n>>> ")]:
            port.write(typed)
            self.assertEqual(port.read_until(b">>> "), answer)


class SeedOverPort(ServeTest):
    def test_thread_file_with_a_peer_on_uart2(self):
        """The seed's thread_file.py downloaded and run over the port, with this test as
        the device at the other end of UART2 (10 s: the example writes once a second)."""
        seed = os.environ.get("SEED", os.path.join(os.path.dirname(__file__), "..", "..",
                                                   "..", "shared", "seed-examples"))
        script = os.path.join(seed, "thread_file.py")
        if not os.path.exists(script):
            self.skipTest("no seed examples at %s" % seed)
        self.serve()
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        run = subprocess.Popen([QPY, "--device", self.device, "--port", "auto", "run",
                                script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env)
        link = os.path.join(self.device, "uart2")
        deadline = time.time() + 10
        while not os.path.exists(link) and time.time() < deadline:
            time.sleep(0.05)
        peer = Port(link, timeout=20)
        self.addCleanup(peer.close)
        want = b"".join(b"Quectel count=%d" % n for n in range(10, 0, -1))
        self.assertEqual(peer.read(len(want)), want)
        peer.write(b"Quecpython")
        out, err = run.communicate(timeout=30)
        self.assertEqual((run.returncode, err), (0, b""))
        self.assertIn(b"INFO:Thread:uartread msg: Quecpython\n", out)
        # The script ends as soon as the reader thread has the answer, which the peer sends
        # on receiving count=1: the writer may not have logged that last write yet (a
        # loaded machine showed it), so its log is checked up to count=2, logged before
        # count=1 was written.
        for n in range(10, 1, -1):
            self.assertIn(b"INFO:Thread:write msg :Quectel count=%d\n" % n, out)

    def test_ctrl_c_reaches_the_script(self):
        self.serve()
        loop = os.path.join(self.tmp, "loop.py")
        with open(loop, "w") as f:
            f.write("print('looping')\nwhile True:\n    pass\n")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        run = subprocess.Popen([QPY, "--device", self.device, "--port", "auto", "run", loop],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.assertEqual(run.stdout.readline(), b"looping\n")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertTrue(err.endswith(b"KeyboardInterrupt: \n"), err)


def main():
    global QPY
    ap = argparse.ArgumentParser()
    ap.add_argument("--qpy", required=True)
    args, rest = ap.parse_known_args()
    QPY = os.path.abspath(args.qpy)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
