# uhashlib.py - MicroPython's hashlib: sha256, sha1, md5 objects with update/digest.
from hashlib import md5, sha1, sha256  # noqa: F401
