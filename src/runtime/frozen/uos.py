# uos.py - QuecPython's uos: the file functions over /usr and /bak (from the C module
# _qp_uos), VfsLfs1/VfsLfs2 with mount/umount, uname/uname2, and urandom.
from _qp_uos import (VfsLfs1, VfsLfs2, chdir, getcwd, ilistdir, listdir, mkdir,  # noqa: F401
                     mount, remove, rename, rmdir, stat, statvfs, umount, urandom)
import _qp_runtime

_RELEASE = "1.12.0"


class _Uname(tuple):
    """MicroPython's attrtuple: prints as (sysname='...', ...)."""

    _fields = ("sysname", "nodename", "release", "version", "machine")

    def __new__(cls, values, fields):
        self = tuple.__new__(cls, values)
        self._names = fields
        return self

    def __getattr__(self, name):
        try:
            return self[self._names.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    def __repr__(self):
        return "(" + ", ".join("%s=%r" % (k, v) for k, v in zip(self._names, self)) + ")"


def _uname_values(info):
    model = info["model"]
    return [model + "-CN", model, _RELEASE, "v1.12 on " + info["firmware"],
            model + " with QUECTEL"]


def uname():
    return _Uname(_uname_values(_qp_runtime.boot_info()), _Uname._fields)


def uname2():
    # qpyver is the installed firmware's version, as modem.getDevFwVersion() reports it.
    info = _qp_runtime.boot_info()
    return _Uname(_uname_values(info) + [info["firmware"]], _Uname._fields + ("qpyver",))
