# ujson.py - MicroPython's json module: dumps, loads, dump, load.
from json import dump, dumps, load, loads  # noqa: F401
