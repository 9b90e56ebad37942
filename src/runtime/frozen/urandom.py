# urandom.py - MicroPython's random: getrandbits, seed and the extra functions.
from random import choice, getrandbits, randint, random, randrange, seed, uniform  # noqa: F401
