# log.py - QuecPython's log module, as the firmware's own small Python module behaves:
# records print as LEVEL:name:message on sys.stderr (or what set_output chose), levels
# CRITICAL..DEBUG with the firmware's short names, a global level from basicConfig.
import sys

CRITICAL = 50
ERROR = 40
WARNING = 30
INFO = 20
DEBUG = 10
NOTSET = 0

_level_names = {CRITICAL: "CRIT", ERROR: "ERROR", WARNING: "WARN", INFO: "INFO", DEBUG: "DEBUG"}

_level = INFO
_loggers = {}
_stream = sys.stderr


class Logger:
    level = NOTSET

    def __init__(self, name):
        self.name = name

    def _level_str(self, level):
        name = _level_names.get(level)
        return name if name is not None else "LVL%s" % level

    def setLevel(self, level):
        self.level = level

    def isEnabledFor(self, level):
        return level >= (self.level or _level)

    def log(self, level, msg, *args):
        if self.isEnabledFor(level):
            if args:
                msg = msg % args
            _stream.write("%s:%s:%s\n" % (self._level_str(level), self.name, msg))

    def debug(self, msg, *args):
        self.log(DEBUG, msg, *args)

    def info(self, msg, *args):
        self.log(INFO, msg, *args)

    def warning(self, msg, *args):
        self.log(WARNING, msg, *args)

    def error(self, msg, *args):
        self.log(ERROR, msg, *args)

    def critical(self, msg, *args):
        self.log(CRITICAL, msg, *args)


def getLogger(name="root"):
    if name in _loggers:
        return _loggers[name]
    logger = Logger(name)
    _loggers[name] = logger
    return logger


def info(msg, *args):
    getLogger().info(msg, *args)


def debug(msg, *args):
    getLogger().debug(msg, *args)


def basicConfig(level=INFO, filename=None, stream=None, format=None):
    global _level, _stream
    _level = level
    if stream:
        _stream = stream
    if filename is not None:
        print("logging.basicConfig: filename arg is not supported")
    if format is not None:
        print("logging.basicConfig: format arg is not supported")


def set_output(out):
    """Send records to a machine.UART, sys.stdout or sys.stderr."""
    global _stream
    if out is sys.stdout or out is sys.stderr or hasattr(out, "write"):
        _stream = out
    else:
        raise ValueError("out must be a UART, sys.stdout or sys.stderr")
