#!/usr/bin/env python3
"""Runs command-line tests, zstd style.

Each NAME.sh runs under `sh -eu` in a fresh empty directory, with $QPY (and $MKLFS,
$ADIFF, ... as the tools appear) naming the programs under test and $SEED the seed
examples. Its stdout must equal NAME.stdout.exact (empty when there is none), its stderr
NAME.stderr.exact or match the shell pattern in NAME.stderr.glob (empty when neither
exists), and its exit status the number in NAME.exit (0 when there is none). Ends with
"N passed, N failed".

Usage: run-clitests.py --bin DIR --seed DIR TEST.sh|DIR ...
"""
import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile


def read(path, default=b""):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


def check(test, stdout, stderr, status):
    base = test[:-3]
    problems = []
    if stdout != read(base + ".stdout.exact"):
        problems.append(("stdout", read(base + ".stdout.exact"), stdout))
    glob = read(base + ".stderr.glob", None)
    if glob is not None:
        if not fnmatch.fnmatchcase(stderr.decode("utf-8", "replace"), glob.decode()):
            problems.append(("stderr (pattern)", glob, stderr))
    elif stderr != read(base + ".stderr.exact"):
        problems.append(("stderr", read(base + ".stderr.exact"), stderr))
    want_status = int(read(base + ".exit", b"0").strip() or 0)
    if status != want_status:
        problems.append(("exit status", b"%d\n" % want_status, b"%d\n" % status))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="directory holding the built programs")
    ap.add_argument("--seed", required=True, help="shared/seed-examples")
    ap.add_argument("tests", nargs="+")
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    env = dict(os.environ)
    env.update({"SEED": os.path.abspath(args.seed), "LC_ALL": "C.UTF-8"})
    for tool in ("qpy", "mklfs", "adiff", "mkfw"):
        env[tool.upper()] = os.path.join(bindir, tool)

    tests = []
    for p in args.tests:
        if os.path.isdir(p):
            tests += [os.path.join(p, n) for n in sorted(os.listdir(p)) if n.endswith(".sh")]
        else:
            tests.append(p)
    passed = failed = 0
    for test in tests:
        workdir = tempfile.mkdtemp(prefix="qpy-clitest-")
        env["HOME"] = workdir
        env["XDG_DATA_HOME"] = os.path.join(workdir, "xdg")
        try:
            proc = subprocess.run(["sh", "-eu", os.path.abspath(test)], cwd=workdir, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=300)
            problems = check(test, proc.stdout, proc.stderr, proc.returncode)
        except subprocess.TimeoutExpired:
            problems = [("time", b"", b"timed out after 300 s")]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not problems:
            print("pass ", test)
            passed += 1
            continue
        failed += 1
        print("FAIL ", test)
        for what, want, got in problems:
            print("  %s differs:\n  --- expected\n%s\n  --- actual\n%s" % (
                what, want.decode("utf-8", "replace"), got.decode("utf-8", "replace")))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
