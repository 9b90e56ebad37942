// qp_err.h - the error convention shared by every OpenQPY C library.
//
// Functions return int (or ssize_t): 0 or a positive count on success, a negative errno
// value on failure. User callbacks (block devices, HAL, patch I/O) return the same space and
// the libraries pass their codes through unchanged. qp_strerror() turns a code into text a
// user can act on; the Python bindings map codes to OSError(errno) as MicroPython does.
#ifndef QP_ERR_H
#define QP_ERR_H

#include <errno.h>

#define QP_ERR_OK       0
#define QP_ERR_IO       (-EIO)        // the storage or device callback failed
#define QP_ERR_NOENT    (-ENOENT)     // no such file, directory or entry
#define QP_ERR_EXIST    (-EEXIST)     // already exists
#define QP_ERR_NOTDIR   (-ENOTDIR)    // a path component is not a directory
#define QP_ERR_ISDIR    (-EISDIR)     // is a directory
#define QP_ERR_NOTEMPTY (-ENOTEMPTY)  // directory not empty
#define QP_ERR_BADF     (-EBADF)      // handle not open, or not open for this
#define QP_ERR_FBIG     (-EFBIG)      // file too large
#define QP_ERR_NOSPC    (-ENOSPC)     // no space left
#define QP_ERR_NOMEM    (-ENOMEM)     // out of memory (or over the configured budget)
#define QP_ERR_INVAL    (-EINVAL)     // invalid argument
#define QP_ERR_NAMETOOLONG (-ENAMETOOLONG) // name longer than the configured maximum
#define QP_ERR_ROFS     (-EROFS)      // read-only
#define QP_ERR_AGAIN    (-EAGAIN)     // try again (nothing available yet)
#define QP_ERR_ACCES    (-EACCES)     // permission denied (host file)
#define QP_ERR_BUSY     (-EBUSY)      // in use (a device locked by a running module)
#define QP_ERR_CORRUPT  (-EBADMSG)    // stored data failed its checks (CRC, magic, bounds)
#define QP_ERR_NOTSUP   (-ENOTSUP)    // valid but not supported by this build or format
#define QP_ERR_RANGE    (-ERANGE)     // value out of range
#define QP_ERR_PERM     (-EPERM)      // operation not permitted here (e.g. across mounts)
// Not signed by the trusted key: a signature is required and missing, or does not verify
// (SPEC-patch §3.5). EKEYREJECTED is Linux's; C libraries without it get its value.
#ifdef EKEYREJECTED
#define QP_ERR_AUTH     (-EKEYREJECTED)
#else
#define QP_ERR_AUTH     (-129)
#endif

// Text for an error code: qp_strerror(QP_ERR_CORRUPT) is "corrupt data (failed integrity
// check)". Never NULL; unknown codes give "unknown error". Thread-safe (static strings).
const char *qp_strerror(int err);

// The errno's symbolic name, as MicroPython prints it in "[Errno 2] ENOENT": "ENOENT" for
// QP_ERR_NOENT (or for ENOENT). NULL for a code without a name here.
const char *qp_errname(int err);

#endif
