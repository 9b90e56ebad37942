# uio.py - MicroPython's uio: open() for the module's file systems (also the builtin
# open), the file types, and in-memory streams.
from _qp_uio import FileIO, TextIOWrapper, open  # noqa: F401
from io import BytesIO, StringIO  # noqa: F401
