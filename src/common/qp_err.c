// qp_err.c - text for the negative errno codes of qp_err.h.
//
// We keep our own table rather than calling strerror(): the texts are part of what users
// see in tool output and CLI tests pin them, so they must not vary with the C library.
#include "qp/qp_err.h"

#include <stddef.h>

const char *qp_strerror(int err) {
    switch (err) {
    case QP_ERR_OK: return "success";
    case QP_ERR_IO: return "I/O error";
    case QP_ERR_NOENT: return "no such file or directory";
    case QP_ERR_EXIST: return "already exists";
    case QP_ERR_NOTDIR: return "not a directory";
    case QP_ERR_ISDIR: return "is a directory";
    case QP_ERR_NOTEMPTY: return "directory not empty";
    case QP_ERR_BADF: return "bad file handle";
    case QP_ERR_FBIG: return "file too large";
    case QP_ERR_NOSPC: return "no space left";
    case QP_ERR_NOMEM: return "out of memory";
    case QP_ERR_INVAL: return "invalid argument";
    case QP_ERR_NAMETOOLONG: return "name too long";
    case QP_ERR_ROFS: return "read-only";
    case QP_ERR_AGAIN: return "try again";
    case QP_ERR_ACCES: return "permission denied";
    case QP_ERR_BUSY: return "in use";
    case QP_ERR_CORRUPT: return "corrupt data (failed integrity check)";
    case QP_ERR_NOTSUP: return "not supported";
    case QP_ERR_RANGE: return "value out of range";
    case QP_ERR_PERM: return "operation not permitted";
    case QP_ERR_AUTH: return "not signed by the trusted key";
    default: return "unknown error";
    }
}

const char *qp_errname(int err) {
    switch (err < 0 ? -err : err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADMSG: return "EBADMSG";
    case ENOTSUP: return "EOPNOTSUPP";
    case ETIMEDOUT: return "ETIMEDOUT";
    case -QP_ERR_AUTH: return "EKEYREJECTED";
    default: return NULL;
    }
}
