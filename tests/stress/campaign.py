#!/usr/bin/python3
"""campaign.py - the power-cut campaigns of `make stress` (docs/TESTING.md §4).

Usage: campaign.py BUILD_DIR [--seed S] [--cuts N] [--only NAME,...] [--cut I] [--keep]

Runs, with cut counts in fixed shares of N (default $QP_STRESS_CUTS, else 10000):

  fs           tests/stress/stress_fs: random file-system workloads on the flash model
  fota         tests/stress/stress_fota: download, verify and boot-time apply on the model
  checksum     qpy: a script rewrites protected files, each followed by checksum.update
  restore      qpy: the boot-time restore from /bak of damaged protected files
  fota-boot    qpy: the boot-time FOTA apply of a verified package
  serve-cp     SIGKILL of `qpy serve` during `qpy --port auto fs cp`
  serve-fota   SIGKILL of `qpy serve` during its boot-time FOTA apply

The qpy campaigns cut the device flash's power at a random program or erase (QPY_POWER_CUT,
src/runtime/qp_runtime.c) with a random tear, reboot the module and check everything: it
boots, /usr and /bak mount and can be walked with every file read, each committed file
(whose write, checksum.update or cp returned before the cut) reads back exactly, the file in
flight holds one of the contents the platform allows, /usr/checksum.json agrees with the
files, the firmware partition holds the old or the new image byte for byte. The SIGKILL
campaigns kill at a random time instead (so they repeat only approximately).

Everything is drawn from the seed (printed): cut I of campaign C uses Random("S:C:I"), so
`--only C --cut I --seed S` repeats it (`--keep` keeps its device under BUILD_DIR). The
summary table at the end has one row per campaign; the exit status is 1 if any row has a
corrupted file system, a lost committed file or a bricked module.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

# Shares of the total, and the least each campaign gets (so a small smoke run covers all).
SHARES = [("fs", 0.45, 20), ("fota", 0.20, 4), ("checksum", 0.12, 2), ("restore", 0.10, 2),
          ("fota-boot", 0.07, 2), ("serve-cp", 0.03, 1), ("serve-fota", 0.03, 1)]
NEW_VERSION = "EC600SCNAAR01A01M16_OCPU_PY_V2"
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", QPY_TIMEOUT_MS="5000")
ENV.pop("QPY_POWER_CUT", None)


class Tally:
    def __init__(self, name, applies):
        self.name, self.applies = name, applies  # applies: which of the three columns count
        self.cuts = self.corrupted = self.lost = self.bricked = 0
        self.seconds = 0.0
        self.notes = []

    def failed(self):
        return self.corrupted or self.lost or self.bricked


class Campaign:
    """Shared by the qpy-level campaigns: the build, a scratch folder, one device per cut."""

    def __init__(self, build, work, seed, keep):
        self.bin = os.path.join(build, "bin")
        self.qpy = os.path.join(self.bin, "qpy")
        self.build, self.work, self.seed, self.keep = build, work, seed, keep

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def run(self, *args, check=True, **kw):
        r = subprocess.run(list(args), capture_output=True, env=ENV, timeout=120, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(args), r.returncode,
                                                      r.stderr.decode(errors="replace")))
        return r

    def boot(self, dev, script, cut=None):
        """Boots `dev` and runs `script`; cut = (k, seed) cuts the power at operation k.
        Returns (exit status, stdout, stderr, flash operations, power lost)."""
        env = dict(ENV, QPY_POWER_CUT="%d:%d" % (cut or (0, 0)))
        r = subprocess.run([self.qpy, "--device", dev, "run", script], capture_output=True,
                           env=env, timeout=120)
        err = r.stderr.decode(errors="replace")
        m = re.search(r"qpy: power cut: (\d+) flash operations, power (kept|lost)", err)
        return (r.returncode, r.stdout.decode(errors="replace"), err,
                int(m.group(1)) if m else 0, bool(m and m.group(2) == "lost"))

    def boot_and_walk(self, t, dev, tag):
        """Boots dev with WALK_PY: (tree, checksum list), or None after counting a module
        that does not boot (bricked: its firmware; corrupted: its file systems)."""
        rc, out, err, _, _ = self.boot(dev, self.walk)
        parsed = parse_walk(out) if rc == 0 else None
        if parsed is None:
            if "the module cannot boot" in err:
                t.bricked += 1
            else:
                t.corrupted += 1
            print("FAIL %s: the module did not boot or walk its files (%d): %s%s"
                  % (tag, rc, out[-400:], err[-400:]))
            self.keep_failed(dev, tag.replace(" ", "-"))
        return parsed

    def copy_device(self, src, dst):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)

    def script(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def keep_failed(self, dev, tag):
        if self.keep:
            dst = os.path.join(self.build, "stress-failures", tag)
            self.copy_device(dev, dst)
            print("  kept the device as", dst)


def sha(data):
    return hashlib.sha256(data).hexdigest()


# The tree check run on the module after every reboot: every folder walked, every file read.
WALK_PY = """import uos, uhashlib, ubinascii
def walk(d, out):
    for name in uos.listdir(d):
        p = d + "/" + name
        if uos.stat(p)[0] & 0x4000:
            out.append((p, "dir"))
            walk(p, out)
            continue
        h = uhashlib.sha256()
        with open(p, "rb") as f:
            while True:
                c = f.read(4096)
                if not c:
                    break
                h.update(c)
        out.append((p, ubinascii.hexlify(h.digest()).decode()))
tree = []
walk("/usr", tree)
walk("/bak", tree)
print("TREE", repr(tree))
try:
    print("LIST", open("/usr/checksum.json").read())
except OSError as e:
    print("LIST none", e)
"""


def parse_walk(out):
    """(tree dict, checksum list or None) from WALK_PY's output, or None if it failed."""
    m = re.search(r"^TREE (.*)$", out, re.M)
    if not m:
        return None
    tree = dict(eval(m.group(1), {}))  # our own output: a list of string pairs
    m = re.search(r"^LIST (.*)$", out, re.M)
    try:
        entries = json.loads(m.group(1)) if m else None
    except ValueError:
        entries = None
    return tree, entries


# ---- checksum.update and boot-time restore (protected files, /usr and /bak) ----

CONTENT_PY = """import uhashlib
def content(tag, n):
    out = b""
    i = 0
    while len(out) < n:
        out += uhashlib.sha256(b"%d:%d" % (tag, i)).digest()
        i += 1
    return out[:n]
"""


def content(tag, n):
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha256(b"%d:%d" % (tag, i)).digest()
        i += 1
    return out[:n]


class Protected(Campaign):
    """A device made with `mklfs --pair`: protected files in /usr, factory copies in /bak,
    restore enabled; plus /usr/user.txt, a file of the user's that nothing may touch."""

    FILES = {"/usr/a.py": b'print("a")\n', "/usr/b.py": b"x = 2\n" * 300,
             "/usr/lib/c.py": b"def c(): return 3\n" * 40, "/usr/data.bin": content(1, 20000)}
    USER = content(2, 3000)

    def make_template(self):
        app = self.path("app")
        for name, data in self.FILES.items():
            p = os.path.join(app, name[len("/usr/"):])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        mklfs = os.path.join(self.bin, "mklfs")
        self.run(mklfs, "--pair", "-c", app, "-i", self.path("usr.bin"), "--backup-image",
                 self.path("bak.bin"))
        tpl = self.path("template")
        self.run(self.qpy, "device", "new", tpl)
        self.run(self.qpy, "--device", tpl, "flash", "--customer-fs", self.path("usr.bin"),
                 "--backup-fs", self.path("bak.bin"))
        with open(self.path("user.txt"), "wb") as f:
            f.write(self.USER)
        self.run(self.qpy, "--device", tpl, "fs", "cp", self.path("user.txt"), ":/usr/user.txt")
        self.walk = self.script("walk.py", WALK_PY)
        return tpl

    def check_tree(self, t, dev, expect, inflight, tag):
        """Reboots `dev` and checks it. expect: path -> sha the file must have; inflight:
        path -> set of shas the file in flight may have. Counts into tally t."""
        parsed = self.boot_and_walk(t, dev, tag)
        if parsed is None:
            return False
        tree, entries = parsed
        ok = True
        for p, want in expect.items():
            allowed = inflight.get(p, set()) | {want}
            if tree.get(p) not in allowed:
                t.lost += 1
                ok = False
                print("FAIL %s: committed %s: %s" % (tag, p, "missing" if p not in tree
                                                     else "different content"))
        for p, h in (entries and [(e["name"], e.get("sha256")) for e in entries]) or []:
            if tree.get(p) != h:
                t.corrupted += 1
                ok = False
                print("FAIL %s: checksum.json says %s has %s, it has %s"
                      % (tag, p, h, tree.get(p)))
        if entries is None:
            t.corrupted += 1
            ok = False
            print("FAIL %s: /usr/checksum.json missing or not JSON" % tag)
        temps = [p for p in tree if p.endswith(".tmp")]
        if temps:
            t.corrupted += 1
            ok = False
            print("FAIL %s: temporary files left: %s" % (tag, temps))
        return ok

    def factory(self):
        e = {p: sha(d) for p, d in self.FILES.items()}
        e.update({"/bak" + p: sha(d) for p, d in self.FILES.items()})
        e["/usr/user.txt"] = sha(self.USER)
        return e


class ChecksumCampaign(Protected):
    name = "checksum"
    VARIANTS = 6

    def prepare(self):
        self.tpl = self.make_template()
        self.variants = []
        names = [p for p in self.FILES]
        for v in range(self.VARIANTS):
            rng = random.Random("%d:checksum-script:%d" % (self.seed, v))
            ops = [(rng.choice(names), rng.randrange(1, 9000), rng.randrange(1 << 30))
                   for _ in range(rng.randrange(2, 7))]
            text = CONTENT_PY + "import checksum\nfor name, n, tag in %r:\n" % ops + (
                "    with open(name, 'wb') as f:\n"
                "        f.write(content(tag, n))\n"
                "    if checksum.update(name) is None:\n"
                "        print('failed', name)\n"
                "        break\n"
                "    print('committed', name)\n")
            script = self.script("update%d.py" % v, text)
            dev = self.path("count")
            self.copy_device(self.tpl, dev)
            rc, out, err, ops_n, _ = self.boot(dev, script)
            if rc != 0 or out.count("committed") != len(ops):
                raise RuntimeError("checksum script %d without a cut: %s %s" % (v, out, err))
            self.variants.append((script, ops, ops_n))

    def cut(self, t, i, rng):
        script, ops, n = self.variants[rng.randrange(len(self.variants))]
        dev = self.path("dev")
        self.copy_device(self.tpl, dev)
        _, out, _, _, lost = self.boot(dev, script, (rng.randrange(1, n + 1), rng.getrandbits(63)))
        t.cuts += lost
        done = out.count("committed")
        expect = self.factory()
        for name, k, tag in ops[:done]:
            expect[name] = sha(content(tag, k))
        inflight = {}
        if done < len(ops):
            name, k, tag = ops[done]
            # A file rewritten but not yet re-hashed is put back from /bak at boot.
            inflight[name] = {sha(content(tag, k)), sha(self.FILES[name])}
        if not self.check_tree(t, dev, expect, inflight, "checksum cut %d" % i):
            self.keep_failed(dev, "checksum-%d" % i)


class RestoreCampaign(Protected):
    name = "restore"
    VARIANTS = 4

    def prepare(self):
        tpl = self.make_template()
        self.boot_only = self.script("boot_only.py", "")
        self.variants = []
        names = sorted(self.FILES)
        for v in range(self.VARIANTS):
            rng = random.Random("%d:restore-damage:%d" % (self.seed, v))
            damage = rng.sample(names, rng.randrange(1, len(names) + 1))
            text = "import uos\n" + "".join(
                "uos.remove(%r)\n" % p if rng.random() < 0.5 else
                "open(%r, 'wb').write(b'damaged' * %d)\n" % (p, rng.randrange(1, 2000))
                for p in damage)
            damaged = self.path("damaged%d" % v)
            self.copy_device(tpl, damaged)
            # Damaged while nothing restores (restore runs at boot, before the script).
            rc, out, err, _, _ = self.boot(damaged, self.script("damage%d.py" % v, text))
            dev = self.path("count")
            self.copy_device(damaged, dev)
            rc, out, err, ops_n, _ = self.boot(dev, self.boot_only)
            if rc != 0 or "- done" not in out:
                raise RuntimeError("restore %d without a cut: %s %s" % (v, out, err))
            self.variants.append((damaged, ops_n))

    def cut(self, t, i, rng):
        damaged, n = self.variants[rng.randrange(len(self.variants))]
        dev = self.path("dev")
        self.copy_device(damaged, dev)
        # One cut, sometimes a second one in the restore that resumes at the next boot.
        for _ in range(1 + (rng.random() < 0.3)):
            _, _, _, _, lost = self.boot(dev, self.boot_only,
                                         (rng.randrange(1, n + 1), rng.getrandbits(63)))
            t.cuts += lost
        if not self.check_tree(t, dev, self.factory(), {}, "restore cut %d" % i):
            self.keep_failed(dev, "restore-%d" % i)


# ---- FOTA at boot (power cut) and `qpy serve` (SIGKILL) ----

def firmware_partition(flash_img):
    """The firmware partition's bytes from a device's flash.img (SPEC-partitions §3, §4)."""
    with open(flash_img, "rb") as f:
        head = f.read(64)
        data_offset = struct.unpack_from("<I", head, 28)[0]
        f.seek(data_offset)
        table = f.read(4096)
        hsize, esize, count = struct.unpack_from("<III", table, 8)
        for k in range(count):
            e = table[hsize + k * esize: hsize + (k + 1) * esize]
            if e[:32].split(b"\0")[0] == b"firmware":
                off, size = struct.unpack_from("<II", e, 32)
                f.seek(data_offset + off)
                return f.read(size)
    raise RuntimeError("no firmware partition in " + flash_img)


class FotaCampaign(Campaign):
    """A device with a verified package pending (the default firmware -> NEW, as
    tests/cli/adiff/v2image.inc makes it)."""

    CHECK = "import modem, newonly\nprint(modem.getDevFwVersion(), newonly.hello())\n"

    def make_pending(self):
        b = self.bin
        old = os.path.join(self.build, "firmware", "default.img")
        x = self.path("x")
        self.run(os.path.join(b, "mkfw"), "extract", old, x)
        self.run(os.path.join(b, "fwgen"), "--variant", "1", "262144", self.path("cp2.bin"))
        shutil.copytree(os.path.join(x, "app"), self.path("app2"))
        with open(self.path("app2", "newonly.py"), "w") as f:
            f.write('def hello(): return "only in V2"\n')
        new = self.path("new.img")
        self.run(os.path.join(b, "mkfw"), "create", "-o", new, "--model", "EC600S", "--version",
                 NEW_VERSION, "--section", "cp=" + self.path("cp2.bin"),
                 "--section", "dsp=" + os.path.join(x, "dsp.bin"),
                 "--section", "app=" + self.path("app2"))
        pkg = self.path("FotaFile.bin")
        self.run(os.path.join(b, "adiff"), "-q", "-l", "fp", old, new, pkg)
        tpl = self.path("pending")
        self.run(self.qpy, "device", "new", tpl)
        self.run(self.qpy, "--device", tpl, "fs", "cp", pkg, ":/usr/FotaFile.bin")
        stage = self.script("stage.py", "import fota, uos\nf = fota()\n"
                            "size = uos.stat('/usr/FotaFile.bin')[6]\n"
                            "with open('/usr/FotaFile.bin', 'rb') as src:\n"
                            "    while True:\n        c = src.read(4096)\n"
                            "        if not c:\n            break\n        f.write(c, size)\n"
                            "print(f.verify())\n")
        rc, out, err, _, _ = self.boot(tpl, stage)
        if rc != 0 or out.strip().splitlines()[-1] != "0":
            raise RuntimeError("staging the package: %s %s" % (out, err))
        with open(old, "rb") as f:
            self.old = f.read()
        with open(new, "rb") as f:
            self.new = f.read()
        self.check = self.script("fwcheck.py", self.CHECK)
        self.pending = tpl

    def holds(self, dev, image):
        fw = firmware_partition(os.path.join(dev, "flash.img"))
        return fw[:len(image)] == image and fw[len(image):].count(0xFF) == len(fw) - len(image)

    def check_upgraded(self, t, dev, tag):
        rc, out, err, _, _ = self.boot(dev, self.check)
        if rc != 0 or out.strip() != NEW_VERSION + " only in V2" or not self.holds(dev, self.new):
            t.bricked += 1
            print("FAIL %s: after the reboots the module says %r (%d), firmware %s"
                  % (tag, out.strip(), rc, "NEW" if self.holds(dev, self.new) else
                     "OLD" if self.holds(dev, self.old) else "neither OLD nor NEW"))
            print(err[-600:])
            self.keep_failed(dev, tag.replace(" ", "-"))


class FotaBootCampaign(FotaCampaign):
    name = "fota-boot"

    def prepare(self):
        self.make_pending()
        dev = self.path("count")
        self.copy_device(self.pending, dev)
        rc, out, err, self.n, _ = self.boot(dev, self.check)
        if rc != 0 or NEW_VERSION not in out:
            raise RuntimeError("the upgrade without a cut: %s %s" % (out, err))

    def cut(self, t, i, rng):
        dev = self.path("dev")
        self.copy_device(self.pending, dev)
        # The first boot is cut; up to two more may be, then one boots with power.
        for b in range(3):
            if b and rng.random() < 0.5:
                break
            _, _, _, _, lost = self.boot(dev, self.check,
                                         (rng.randrange(1, self.n + 1), rng.getrandbits(63)))
            t.cuts += lost
        self.check_upgraded(t, dev, "fota-boot cut %d" % i)


class Served:
    """`qpy serve` on a device, killed with SIGKILL."""

    def __init__(self, qpy, dev):
        self.proc = subprocess.Popen([qpy, "--device", dev, "serve"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=ENV)
        self.line = self.proc.stdout.readline().decode()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


class ServeFotaCampaign(FotaCampaign):
    name = "serve-fota"

    def prepare(self):
        self.make_pending()
        # The window: how long a served boot takes to finish the upgrade (the journal gone).
        dev = self.path("count")
        self.copy_device(self.pending, dev)
        t0 = time.monotonic()
        s = Served(self.qpy, dev)
        while b"QPFWJRNL" in open(os.path.join(dev, "flash.img"), "rb").read() or \
                not self.holds(dev, self.new):
            if time.monotonic() - t0 > 60:
                raise RuntimeError("the served upgrade did not finish")
            time.sleep(0.01)
        self.window = (time.monotonic() - t0) * 1.2
        s.kill()
        self.mid = 0

    def cut(self, t, i, rng):
        dev = self.path("dev")
        self.copy_device(self.pending, dev)
        for b in range(2):
            if b and rng.random() < 0.5:
                break
            s = Served(self.qpy, dev)
            time.sleep(rng.uniform(0, self.window))
            s.kill()
            t.cuts += 1
            with open(os.path.join(dev, "flash.img"), "rb") as f:
                self.mid += b"QPFWJRNL" in f.read()
        self.check_upgraded(t, dev, "serve-fota kill %d" % i)

    def note(self):
        return "%d kills landed with the apply's journal in flash" % self.mid


class ServeCpCampaign(Campaign):
    name = "serve-cp"
    PATHS = ["/usr/s0.bin", "/usr/s1.bin", "/usr/s2.bin", "/usr/dir/s3.bin"]

    def prepare(self):
        self.tpl = self.path("template")
        self.run(self.qpy, "device", "new", self.tpl)
        self.script("mkdir.py", "import uos\nuos.mkdir('/usr/dir')\n")
        self.boot(self.tpl, self.path("mkdir.py"))
        self.walk = self.script("walk.py", WALK_PY)
        self.mid = 0
        self.window = None

    def copies(self, rng):
        return [(rng.choice(self.PATHS), content(rng.getrandbits(30), rng.randrange(0, 24000)))
                for _ in range(rng.randrange(2, 6))]

    def serve_and_copy(self, dev, copies, delay):
        """Serves dev and copies the files in; SIGKILL after `delay` s (None: never).
        Returns how many cp's returned 0, and whether one was in flight at the kill."""
        s = Served(self.qpy, dev)
        t0 = time.monotonic()
        cur = [None]
        killed = threading.Event()

        def killer():
            killed.set()
            s.kill()
            p = cur[0]
            if p is not None and p.poll() is None:
                self.mid += 1
        timer = threading.Timer(delay, killer) if delay is not None else None
        if timer:
            timer.start()
        done = 0
        for k, (path, data) in enumerate(copies):
            src = self.path("src%d" % k)
            with open(src, "wb") as f:
                f.write(data)
            cur[0] = subprocess.Popen([self.qpy, "--device", dev, "--port", "auto", "fs", "cp",
                                       src, ":" + path], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=ENV)
            if cur[0].wait(timeout=120) != 0 or killed.is_set():
                # A cp that returned 0 before the kill is committed even if the kill follows.
                done += cur[0].returncode == 0 and not killed.is_set()
                break
            done += 1
        self.copy_seconds = time.monotonic() - t0
        if timer:
            timer.join()
        else:
            s.kill()
        return done

    def cut(self, t, i, rng):
        copies = self.copies(rng)
        if self.window is None:
            # The window: how long the copies take once the module serves.
            dev = self.path("count")
            self.copy_device(self.tpl, dev)
            if self.serve_and_copy(dev, self.copies(random.Random(0)), None) == 0:
                raise RuntimeError("serve-cp without a kill copied nothing")
            self.window = self.copy_seconds * 1.1
        dev = self.path("dev")
        self.copy_device(self.tpl, dev)
        done = self.serve_and_copy(dev, copies, rng.uniform(0, self.window))
        t.cuts += 1
        expect, inflight = {}, {}
        for path, data in copies[:done]:
            expect[path] = sha(data)
        if done < len(copies):
            path, data = copies[done]
            before = {expect[path]} if path in expect else {None}
            inflight[path] = before | {sha(data), sha(b"")}
            expect.setdefault(path, None)  # absent (not yet created) is allowed too
        parsed = self.boot_and_walk(t, dev, "serve-cp kill %d" % i)
        if parsed is None:
            return
        tree = parsed[0]
        for p, want in expect.items():
            if tree.get(p) not in inflight.get(p, set()) | {want}:
                t.lost += 1
                print("FAIL serve-cp kill %d: %s %s" % (i, p, "missing" if p not in tree
                                                       else "has other content"))
                self.keep_failed(dev, "serve-cp-%d" % i)

    def note(self):
        return "%d kills landed while a cp was running" % self.mid


# ---- The in-process campaigns (C programs) ----

def run_c(build, name, cuts, seed, t):
    prog = os.path.join(build, "tests", "stress", "stress_" + name)
    r = subprocess.run([prog, "--seed", str(seed), "--cuts", str(cuts)], capture_output=True,
                       text=True, env=ENV)
    for line in r.stdout.splitlines():
        m = re.match(r"STRESS \S+ cuts=(\d+) corrupted=(\d+) lost=(\d+) bricked=(\d+)", line)
        if m:
            t.cuts, t.corrupted, t.lost, t.bricked = map(int, m.groups())
        elif line.startswith("  cuts"):
            t.notes.append(line.strip())
        elif line.startswith("FAIL") or line.startswith("  "):
            print(line)
    if r.returncode not in (0, 1) or not t.cuts:
        t.corrupted += 1
        print("FAIL %s: exit %d\n%s%s" % (prog, r.returncode, r.stdout[-2000:], r.stderr[-2000:]))


QPY_CAMPAIGNS = {c.name: c for c in (ChecksumCampaign, RestoreCampaign, FotaBootCampaign,
                                     ServeCpCampaign, ServeFotaCampaign)}
# Which columns mean something for each campaign (the others print "-").
APPLIES = {"fs": "cl", "fota": "b", "checksum": "clb", "restore": "clb", "fota-boot": "b",
           "serve-cp": "clb", "serve-fota": "b"}


def table(tallies):
    head = ("campaign", "cuts", "corrupted fs", "lost committed files", "bricked", "time")
    rows = [head]
    for t in tallies:
        def col(v, c):
            return str(v) if c in t.applies else "-"
        rows.append((t.name, str(t.cuts), col(t.corrupted, "c"), col(t.lost, "l"),
                     col(t.bricked, "b"), "%.0f s" % t.seconds))
    total = Tally("total", "clb")
    for t in tallies:
        for f in ("cuts", "corrupted", "lost", "bricked", "seconds"):
            setattr(total, f, getattr(total, f) + getattr(t, f))
    rows.append(("total", str(total.cuts), str(total.corrupted), str(total.lost),
                 str(total.bricked), "%.0f s" % total.seconds))
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    line = "+".join("-" * (x + 2) for x in w)
    out = []
    for k, r in enumerate(rows):
        out.append("|".join(" %s " % (c.ljust(w[i]) if i == 0 else c.rjust(w[i]))
                            for i, c in enumerate(r)))
        if k in (0, len(rows) - 2):
            out.append(line)
    return "\n".join(out), total


def main():
    ap = argparse.ArgumentParser(description="power-cut campaigns (docs/TESTING.md §4)")
    ap.add_argument("build")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--cuts", type=int, default=int(os.environ.get("QP_STRESS_CUTS", "10000")))
    ap.add_argument("--only", default=None, help="comma-separated campaign names")
    ap.add_argument("--cut", type=int, default=None, help="only this cut (qpy campaigns)")
    ap.add_argument("--keep", action="store_true", help="keep failing devices")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    seed = a.seed if a.seed is not None else random.SystemRandom().getrandbits(48)
    only = a.only.split(",") if a.only else [s[0] for s in SHARES]
    print("campaign.py: seed %d, %d cuts (reproduce: %s %s --seed %d --cuts %d)"
          % (seed, a.cuts, sys.argv[0], a.build, seed, a.cuts), flush=True)
    tallies = []
    for name, share, least in SHARES:
        if name not in only:
            continue
        cuts = max(least, round(a.cuts * share))
        t = Tally(name, APPLIES[name])
        t0 = time.monotonic()
        if name in ("fs", "fota"):
            run_c(build, name, cuts, seed, t)
        else:
            with tempfile.TemporaryDirectory(prefix="qp-stress-") as work:
                c = QPY_CAMPAIGNS[name](build, work, seed, a.keep)
                c.prepare()
                i = 0
                while (t.cuts < cuts and i < 3 * cuts) if a.cut is None else i == 0:
                    k = a.cut if a.cut is not None else i
                    c.cut(t, k, random.Random("%d:%s:%d" % (seed, name, k)))
                    i += 1
                if hasattr(c, "note"):
                    t.notes.append(c.note())
        t.seconds = time.monotonic() - t0
        print("%s: %d cuts, %.0f s%s" % (name, t.cuts, t.seconds,
                                          "".join("; " + n for n in t.notes)), flush=True)
        tallies.append(t)
    text, total = table(tallies)
    print()
    print(text)
    print("seed %d" % seed)
    return 1 if total.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
