#!/usr/bin/env python3
"""Boot-time and footprint bench of the virtual module, with CPython itself beside it.

Measures, over --runs runs each (median and 90th percentile, wall clock):
  - `qpy run empty.py`: boot to the end of an empty script;
  - `qpy repl`: boot to the first ">>> " prompt on its output;
  - `python3.11 -I -c pass`: Debian's interpreter starting and stopping, the floor we
    build on (same libpython);
and the peak RSS (VmHWM) of an idle module sitting at its prompt.

Usage: boot.py --qpy PATH [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, runs, env):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def until_prompt(qpy, device, env):
    """Starts the REPL; returns (ms to the first prompt, VmHWM kB while idle at it)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([qpy, "--device", device, "repl"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seen = b""
    while not seen.endswith(b">>> "):
        chunk = os.read(proc.stdout.fileno(), 64)
        if not chunk:
            raise RuntimeError("qpy repl ended before its prompt")
        seen += chunk
    elapsed = (time.perf_counter() - t0) * 1000
    hwm = 0
    with open("/proc/%d/status" % proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    proc.stdin.close()
    proc.wait()
    return elapsed, hwm


def row(name, samples):
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9) - 1]
    return "| %-44s | %8.1f | %8.1f |" % (name, statistics.median(samples), p90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qpy", required=True)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    qpy = os.path.abspath(args.qpy)
    env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.mkdtemp(prefix="qpy-bench-")}
    work = env["HOME"]
    device = os.path.join(work, "dev")
    subprocess.run([qpy, "device", "new", device], check=True, env=env)
    empty = os.path.join(work, "empty.py")
    open(empty, "w").close()

    run_empty = timed([qpy, "--device", device, "run", empty], args.runs, env)
    cpython = timed(["/usr/bin/python3.11", "-I", "-c", "pass"], args.runs, env)
    prompts, hwms = [], []
    for _ in range(args.runs):
        ms, hwm = until_prompt(qpy, device, env)
        prompts.append(ms)
        hwms.append(hwm)

    print("Boot time, %d runs each (ms)\n" % args.runs)
    print("| %-44s | %8s | %8s |" % ("what", "median", "p90"))
    print("|%s|%s|%s|" % ("-" * 46, "-" * 10, "-" * 10))
    print(row("qpy run empty.py (boot to end of script)", run_empty))
    print(row("qpy repl (boot to first '>>> ')", prompts))
    print(row("python3.11 -I -c pass (Debian CPython)", cpython))
    print("\nPeak RSS of an idle module at its prompt: %d kB (median of %d)"
          % (statistics.median(hwms), len(hwms)))


if __name__ == "__main__":
    sys.exit(main())
