# ustruct.py - MicroPython's struct: pack, pack_into, unpack, unpack_from, calcsize.
from struct import calcsize, pack, pack_into, unpack, unpack_from  # noqa: F401
