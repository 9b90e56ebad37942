# uerrno.py - MicroPython's errno names; the values are Linux's, as MicroPython uses.
from errno import (EACCES, EAGAIN, EALREADY, EBADF, ECONNABORTED, ECONNREFUSED,  # noqa: F401
                   ECONNRESET, EEXIST, EHOSTUNREACH, EINPROGRESS, EINVAL, EIO, EISDIR,
                   ENOBUFS, ENODEV, ENOENT, ENOMEM, ENOTCONN, ENOTDIR, ENOTEMPTY, ENOSPC,
                   EOPNOTSUPP, EPERM, EROFS, ETIMEDOUT, errorcode)
