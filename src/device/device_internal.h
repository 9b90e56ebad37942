// device_internal.h - what the files of qp_device share (not a public API).
#ifndef QP_DEVICE_INTERNAL_H
#define QP_DEVICE_INTERNAL_H

#include <stddef.h>

#define QP_INTERNAL __attribute__((visibility("hidden")))

// Writes the printf-style explanation into msg (when msg and msglen are non-zero) and
// returns err: how every function of the library fails with a message a user can act on.
QP_INTERNAL int qp_device_fail(int err, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
