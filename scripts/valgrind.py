#!/usr/bin/python3
"""scripts/valgrind.py - runs the C unit tests, the fault sweeps and the fuzz replays
under Valgrind's memcheck; `make test-valgrind` calls it on the `valgrind` preset's build
(no sanitizers: Valgrind and ASan do not mix).

Usage: scripts/valgrind.py BUILD_DIR [-j N] [--timeout S] [-R REGEX]

The test list, arguments, environment and skip codes come from ctest itself
(`ctest --show-only=json-v1 -L "unit|fault"`), so nothing here repeats the CMake files.
Every command that is a program of the build runs as
  valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
           --suppressions=scripts/valgrind.supp
other commands (cmake -E, the fuzz seed generator's clean step) run as they are. A test
fails on any memcheck error, a definite or indirect leak, or its own failure. Exit status
0 when all pass. Ends with a summary line in ctest's words.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

HERE = os.path.dirname(os.path.abspath(__file__))


def tests_of(build, labels, regex):
    cmd = ["ctest", "--test-dir", build, "--show-only=json-v1", "-L", labels]
    if regex:
        cmd += ["-R", regex]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["tests"]


def prop(test, name, default=None):
    for p in test.get("properties", []):
        if p["name"] == name:
            return p["value"]
    return default


def run(test, build, timeout):
    cmd = list(test["command"])
    env = dict(os.environ)
    for kv in prop(test, "ENVIRONMENT", []):
        k, _, v = kv.partition("=")
        env[k] = v
    if os.path.realpath(cmd[0]).startswith(os.path.realpath(build) + os.sep):
        cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite,indirect",
               "--show-leak-kinds=definite,indirect",
               "--suppressions=" + os.path.join(HERE, "valgrind.supp")] + cmd
    skip = prop(test, "SKIP_RETURN_CODE")
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=prop(test, "WORKING_DIRECTORY", build), env=env,
                           capture_output=True, text=True, timeout=timeout)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", (e.stdout or b"").decode(errors="replace") if isinstance(
            e.stdout, bytes) else (e.stdout or "")
    dt = time.time() - t0
    if skip is not None and rc == int(skip):
        return test["name"], "skipped", dt, ""
    return test["name"], "passed" if rc == 0 else "FAILED (%s)" % rc, dt, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("-R", dest="regex")
    a = ap.parse_args()
    tests = tests_of(a.build, "unit|fault", a.regex)
    # The fuzz replays need their seeds first: fixtures run alone, before the rest.
    setup = [t for t in tests if prop(t, "FIXTURES_SETUP")]
    rest = [t for t in tests if not prop(t, "FIXTURES_SETUP")]
    failed = 0
    results = []

    def report(r):
        nonlocal failed
        name, status, dt, out = r
        results.append(r)
        print("%-45s %-14s %7.1f s" % (name, status, dt), flush=True)
        if status.startswith("FAILED"):
            failed += 1
            sys.stdout.write(re.sub(r"(?m)^", "    ", out[-6000:]) + "\n")

    for t in setup:
        report(run(t, a.build, a.timeout))
    with ThreadPoolExecutor(max_workers=a.j) as ex:
        futures = [ex.submit(run, t, a.build, a.timeout) for t in rest]
        for f in as_completed(futures):
            report(f.result())
    n = len(results)
    print("%d%% tests passed, %d tests failed out of %d (valgrind memcheck)"
          % (100 * (n - failed) // max(n, 1), failed, n))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
