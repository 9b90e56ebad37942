# ubinascii.py - MicroPython's binascii: hexlify (with an optional separator), unhexlify,
# a2b_base64, b2a_base64 and crc32.
from binascii import a2b_base64, b2a_base64, crc32, hexlify, unhexlify  # noqa: F401
