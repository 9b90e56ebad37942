# ucollections.py - MicroPython's collections: namedtuple, OrderedDict, deque.
from collections import OrderedDict, deque, namedtuple  # noqa: F401
