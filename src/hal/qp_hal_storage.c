// qp_hal_storage.c - Linux backend of the storage and randomness the platform modules use.
//
// The runtime mounts the device's flash (src/device/qp_storage.c) and hands the namespace
// here, so uos/uio reach it without knowing about the runtime (and the storage itself, for
// the partitions uos.VfsLfs1/VfsLfs2 name). Random bytes come from the
// kernel, as the module's come from its hardware generator.
#include "qp/qp_err.h"
#include "qp/qp_hal.h"

#include <errno.h>
#include <sys/random.h>

static struct qp_vfs *storage;
static struct qp_storage *volumes;

void qp_hal_storage_set(struct qp_vfs *vfs) {
    storage = vfs;
}

struct qp_vfs *qp_hal_storage(void) {
    return storage;
}

void qp_hal_volumes_set(struct qp_storage *st) {
    volumes = st;
}

struct qp_storage *qp_hal_volumes(void) {
    return volumes;
}

int qp_hal_random(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return QP_ERR_IO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
