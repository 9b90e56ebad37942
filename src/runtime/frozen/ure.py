# ure.py - MicroPython's re subset: compile, match, search, sub, split (on patterns).
from re import compile, match, search, split, sub  # noqa: F401

DEBUG = 0x1000
