#!/usr/bin/env python3
"""mklfs and backup-restore bench (make bench).

Measures:
  - mklfs: wall time and peak RSS (the child's ru_maxrss) making a 5 MB customer_fs image
    full of small files (1000 files of 1 KiB, each taking a littlefs v1 block), and one
    holding a single 4 MiB file; median of --runs runs;
  - the boot time the restore check adds: `qpy run empty.py` with 200 protected files
    listed in /usr/checksum.json, restore enabled (every file hashed, none restored)
    against the same device with restore disabled.

Usage: mklfs_bench.py --bin DIR [--runs N]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time


def run_measured(cmd, env, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    ms = (time.perf_counter() - t0) * 1000
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return ms, max(peak, before)


def median_ms(cmd, env, cwd, runs):
    return statistics.median(run_measured(cmd, env, cwd)[0] for _ in range(runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    mklfs = os.path.join(bindir, "mklfs")
    qpy = os.path.join(bindir, "qpy")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    work = tempfile.mkdtemp(prefix="qpy-mklfs-bench-")
    try:
        small = os.path.join(work, "small")
        os.makedirs(small)
        for i in range(1000):
            with open(os.path.join(small, "f%04d.py" % i), "wb") as f:
                f.write(os.urandom(1024))
        large = os.path.join(work, "large")
        os.makedirs(large)
        with open(os.path.join(large, "big.bin"), "wb") as f:
            f.write(os.urandom(4 << 20))
        print("mklfs (5242880-byte image)     median ms   peak RSS")
        for name, folder in (("1000 files of 1 KiB", small), ("one 4 MiB file", large)):
            cmd = [mklfs, "-c", folder, "-i", os.path.join(work, "out.bin")]
            ms = median_ms(cmd, env, work, args.runs)
            # ru_maxrss of children is the largest so far: measure each case in its own
            # child process tree so the figures do not mix.
            probe = subprocess.run(
                ["/usr/bin/python3.11", "-c",
                 "import resource,subprocess,sys;subprocess.run(sys.argv[1:],check=True,"
                 "stdout=subprocess.DEVNULL);"
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"] + cmd,
                check=True, env=env, cwd=work, stdout=subprocess.PIPE, text=True)
            print("  %-28s %9.0f   %5.1f MiB" % (name, ms, int(probe.stdout) / 1024))

        # 200 protected files: the /usr image and its checksum.json from --pair (whose
        # backup image cannot hold them all: it is only made to get the list), and a
        # backup image holding the list and the flag.
        app = os.path.join(work, "app")
        os.makedirs(app)
        for i in range(200):
            with open(os.path.join(app, "m%03d.py" % i), "wb") as f:
                f.write(b"# module %d\n" % i + os.urandom(300))
        subprocess.run([mklfs, "--pair", "-c", app, "-i", "usr.bin", "--backup-image",
                        "ignored.bin"], env=env, cwd=work, stderr=subprocess.DEVNULL)
        subprocess.run([mklfs, "-u", "usr", "-i", "usr.bin"], check=True, env=env, cwd=work)
        dev = os.path.join(work, "dev")
        subprocess.run([qpy, "device", "new", dev], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        open(os.path.join(work, "empty.py"), "w").close()
        boot = [qpy, "--device", dev, "run", "empty.py"]
        figures = {}
        for enable in (0, 1):
            bak = os.path.join(work, "bak%d" % enable)
            os.makedirs(bak)
            shutil.copy(os.path.join(work, "usr", "checksum.json"), bak)
            with open(os.path.join(bak, "backup_restore.json"), "w") as f:
                f.write('{"enable": %d}' % enable)
            subprocess.run([mklfs, "--backup", "-c", bak, "-i", "bak.bin"], check=True,
                           env=env, cwd=work)
            subprocess.run([qpy, "--device", dev, "flash", "--customer-fs", "usr.bin",
                            "--backup-fs", "bak.bin"], check=True, env=env, cwd=work)
            subprocess.run(boot, check=True, env=env, cwd=work, stdout=subprocess.DEVNULL)
            figures[enable] = median_ms(boot, env, work, args.runs)
        print()
        print("boot (qpy run empty.py), 200 protected files     median ms")
        print("  restore disabled                               %9.0f" % figures[0])
        print("  restore enabled (200 files hashed)             %9.0f" % figures[1])
        print("  added by the restore check                     %9.0f" % (figures[1] - figures[0]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
