#!/usr/bin/env python3
"""Replays REPL transcripts against the virtual module.

A transcript is a REPL session as the module printed it: input lines after ">>> " or
"... " prompts, output lines in between. The input lines are fed to `qpy repl` on a fresh
device with the seed's identity; the module's output must reproduce the transcript, then
end with the final ">>> " prompt. One relaxation, for values that differ between any two
modules (thread ids, free heap): an expected line of decimal digits only matches any line
of decimal digits. Ends with "N passed, N failed".

Two more relaxations are opt-in, for transcripts copied from documentation:
  --digests            a 64-hex-digit SHA-256 in the transcript matches any 64-hex-digit
                       run in the output, consistently: one expected digest stands for one
                       actual digest throughout, and different ones for different ones
                       (the documented hashes are of files whose content is unknown)
  --blank-after-input  an empty output line right after an input line may be missing
                       (the copy in the documentation carries one the module never printed)

Usage: run-repltests.py --qpy PATH [--setup SCRIPT.sh] [relaxations] TRANSCRIPT.txt ...
  --setup SCRIPT.sh  run this shell script (with $QPY and $DEVICE set) on each fresh device
                     before the session, to put files on it
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from qpytest import TIMEOUT, new_device

PROMPTS = (">>> ", "... ")
NUMBER = re.compile(r"^-?\d+$")


def inputs_of(transcript):
    lines = []
    for line in transcript.split("\n"):
        if line.startswith(PROMPTS):
            lines.append(line[4:])
    # An empty prompt as the last line is where the session stops, not an empty line
    # typed into it.
    if lines and lines[-1] == "" and transcript.rstrip("\n").endswith(">>> "):
        lines.pop()
    return "".join(line + "\n" for line in lines)


def expected_of(transcript):
    text = transcript.rstrip("\n")
    # A transcript may stop at an empty final prompt; the session always ends on one.
    if text.endswith("\n>>>") or text == ">>>":
        text = text[:-3]
    elif not text.endswith(">>> "):
        text += "\n"
    if not text.endswith(">>> "):
        text += ">>> "
    return text


DIGEST = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def same_line(e, a, digests):
    if e == a or (NUMBER.match(e) and NUMBER.match(a)):
        return True
    if digests is None:
        return False
    # The line with its digests taken out must match, and each digest pair must agree
    # with the pairs seen so far (a one-to-one mapping).
    if DIGEST.sub("#", e) != DIGEST.sub("#", a):
        return False
    for de, da in zip(DIGEST.findall(e), DIGEST.findall(a)):
        if digests.setdefault(de, da) != da:
            return False
    return len(set(digests.values())) == len(digests)


def same(expected, actual, relax_digests=False, blank_after_input=False):
    exp_lines = expected.split("\n")
    act_lines = actual.split("\n")
    digests = {} if relax_digests else None
    i = j = 0
    while i < len(exp_lines) and j < len(act_lines):
        e, a = exp_lines[i], act_lines[j]
        if same_line(e, a, digests):
            i += 1
            j += 1
        elif blank_after_input and e == "" and i > 0 and exp_lines[i - 1].startswith(PROMPTS):
            i += 1
        else:
            return False
    return i == len(exp_lines) and j == len(act_lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qpy", required=True)
    ap.add_argument("--setup", default=None)
    ap.add_argument("--digests", action="store_true")
    ap.add_argument("--blank-after-input", action="store_true")
    ap.add_argument("transcripts", nargs="+")
    args = ap.parse_args()
    args.qpy = os.path.abspath(args.qpy)
    passed = failed = 0
    for path in args.transcripts:
        with open(path, encoding="utf-8") as f:
            transcript = f.read()
        workdir = tempfile.mkdtemp(prefix="qpy-repltest-")
        try:
            device = new_device(args.qpy, workdir)
            if args.setup:
                env = dict(os.environ, QPY=args.qpy, DEVICE=device)
                subprocess.run(["sh", "-eu", os.path.abspath(args.setup)], cwd=workdir,
                               env=env, check=True)
            proc = subprocess.run([args.qpy, "--device", device, "repl"],
                                  input=inputs_of(transcript).encode(), cwd=workdir,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=TIMEOUT)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        actual = proc.stdout.decode("utf-8", "replace")
        expected = expected_of(transcript)
        if same(expected, actual, args.digests, args.blank_after_input) \
                and proc.returncode == 0:
            print("pass ", path)
            passed += 1
        else:
            print("FAIL ", path, "(exit status %d)" % proc.returncode)
            sys.stdout.flush()
            with tempfile.NamedTemporaryFile("w", suffix=".exp", delete=False) as e, \
                    tempfile.NamedTemporaryFile("w", suffix=".out", delete=False) as a:
                e.write(expected)
                a.write(actual)
            subprocess.run(["diff", "-u", e.name, a.name])
            os.unlink(e.name)
            os.unlink(a.name)
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
