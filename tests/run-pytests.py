#!/usr/bin/env python3
"""Runs script tests inside the virtual module, MicroPython style.

Each NAME.py runs as `qpy --device <fresh device> run NAME.py`; its output (stdout and
stderr together, as the module has one console) must equal NAME.py.exp byte for byte.
Without a .exp file the test must behave as under the host's CPython, which supplies the
expected output. A test that prints SKIP alone is skipped. On a mismatch the actual output
is written to NAME.py.out beside the build's copy. Ends with "N passed, N failed,
N skipped" and exits 1 if anything failed.

Usage: run-pytests.py --qpy PATH [--out-dir DIR] [--source-dir DIR] TEST.py|DIR ...
  --source-dir DIR  run the scripts named by the .exp files in DIR from there (the seed
                    examples live outside the repository and are never copied into it)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from qpytest import TIMEOUT, new_device


def run_script(qpy, script, workdir):
    device = new_device(qpy, workdir)
    # Run from the script's folder by its bare name, so tracebacks name it as on the module.
    proc = subprocess.run([qpy, "--device", device, "run", os.path.basename(script)],
                          cwd=os.path.dirname(os.path.abspath(script)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=TIMEOUT)
    return proc.stdout


def expected_output(script, exp):
    if os.path.exists(exp):
        with open(exp, "rb") as f:
            return f.read()
    proc = subprocess.run([sys.executable, "-I", os.path.abspath(script)],
                          cwd=os.path.dirname(os.path.abspath(script)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
    return proc.stdout


def collect(paths, source_dir):
    tests = []
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if source_dir and name.endswith(".py.exp"):
                    tests.append((os.path.join(source_dir, name[:-4]), os.path.join(p, name)))
                elif not source_dir and name.endswith(".py"):
                    tests.append((os.path.join(p, name), os.path.join(p, name + ".exp")))
        elif source_dir:
            tests.append((os.path.join(source_dir, os.path.basename(p)[:-4]), p))
        else:
            tests.append((p, p + ".exp"))
    return tests


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qpy", required=True)
    ap.add_argument("--out-dir", default=None, help="where to write .py.out on mismatch")
    ap.add_argument("--source-dir", default=None)
    ap.add_argument("tests", nargs="+")
    args = ap.parse_args()
    args.qpy = os.path.abspath(args.qpy)

    passed = failed = skipped = 0
    for script, exp in collect(args.tests, args.source_dir):
        name = os.path.relpath(script)
        workdir = tempfile.mkdtemp(prefix="qpy-pytest-")
        try:
            actual = run_script(args.qpy, script, workdir)
        except subprocess.TimeoutExpired:
            actual = b"TIMEOUT after %d s\n" % TIMEOUT
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if actual == b"SKIP\n":
            print("skip ", name)
            skipped += 1
            continue
        if actual == expected_output(script, exp):
            print("pass ", name)
            passed += 1
            continue
        print("FAIL ", name)
        failed += 1
        out_dir = args.out_dir or os.path.dirname(exp)
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, os.path.basename(script) + ".out")
        with open(out, "wb") as f:
            f.write(actual)
        print("      output in", out)
        sys.stdout.flush()
        subprocess.run(["diff", "-u", exp, out])
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
