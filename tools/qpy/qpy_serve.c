// qpy_serve.c - `qpy serve`: keeps a module running with its REPL on a pseudo-terminal,
// the USB CDC port (UART3) where a real module has it.
//
// The pty is made here, once, and linked as <device>/repl; its descriptors are inherited
// by the runtime and across the re-execution that a restart is (--console-fd), so the
// path a host tool has open stays the same through reboots (docs/DESIGN.md "qpy serve").
// A lock file held for the module's whole life (<device>/serve.lock, flock: released by
// the kernel however the process ends) keeps two servers off one device and tells
// `qpy --port auto` that the link is live.
#include "qpy_serve.h"

#include "qp/qp_err.h"
#include "qp/qp_hal_console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

// Holds <device>/serve.lock. The descriptor is inherited across a restart's exec (no
// O_CLOEXEC), so the lock is never released while the module lives.
static int take_lock(const char *device) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" QPY_SERVE_LOCK_NAME, device);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
        fprintf(stderr, "qpy: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "qpy: %s is already being served (its REPL: %s/repl)\n", device,
                device);
        close(fd);
        return -1;
    }
    return fd;
}

// Points <device>/repl at the pty, replacing a stale link a killed server left.
static int make_link(const char *device, const char *target) {
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/" QPY_SERVE_LINK_NAME, device);
    if (unlink(link) < 0 && errno != ENOENT) {
        fprintf(stderr, "qpy: %s: %s\n", link, strerror(errno));
        return -1;
    }
    if (symlink(target, link) < 0) {
        fprintf(stderr, "qpy: %s: %s\n", link, strerror(errno));
        return -1;
    }
    return 0;
}

static void remove_link(const char *device, const char *target) {
    char link[PATH_MAX], now[PATH_MAX];
    snprintf(link, sizeof link, "%s/" QPY_SERVE_LINK_NAME, device);
    ssize_t n = readlink(link, now, sizeof now - 1);
    if (n > 0) {
        now[n] = '\0';
        if (strcmp(now, target) == 0) {
            unlink(link);
        }
    }
}

int qpy_serve_main(qp_runtime_config_t *cfg, const char *console_fds) {
    char slave_path[128];
    cfg->mode = QP_RUNTIME_SERVE;
    if (console_fds) {
        // A restart: the pty, its link and the lock are inherited.
        if (sscanf(console_fds, "%d,%d", &cfg->console_master_fd, &cfg->console_slave_fd)
            != 2) {
            fprintf(stderr, "qpy: bad --console-fd '%s'\n", console_fds);
            return QP_EXIT_USAGE;
        }
        if (ptsname_r(cfg->console_master_fd, slave_path, sizeof slave_path) != 0) {
            fprintf(stderr, "qpy: --console-fd %s: not a pseudo-terminal\n", console_fds);
            return QP_EXIT_USAGE;
        }
    } else {
        if (take_lock(cfg->device_dir) < 0) {
            return QP_EXIT_DEVICE;
        }
        int err = qp_hal_console_make_pty(&cfg->console_master_fd, &cfg->console_slave_fd,
                                          slave_path, sizeof slave_path);
        if (err < 0) {
            fprintf(stderr, "qpy: cannot make the REPL's pseudo-terminal: %s\n",
                    qp_strerror(err));
            return QP_EXIT_INTERNAL;
        }
        if (make_link(cfg->device_dir, slave_path) < 0) {
            return QP_EXIT_DEVICE;
        }
        printf("qpy: serving %s: REPL on %s (%s/" QPY_SERVE_LINK_NAME ")\n", cfg->device_dir,
               slave_path, cfg->device_dir);
        fflush(stdout);
    }
    int status = qp_runtime_main(cfg);
    remove_link(cfg->device_dir, slave_path);
    if (cfg->verbose) {
        fprintf(stderr, "qpy: %s stopped serving (status %d)\n", cfg->device_dir, status);
    }
    return status;
}

int qpy_serve_find(const char *device, char *port, size_t portlen) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" QPY_SERVE_LOCK_NAME, device);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return QP_ERR_NOENT;
    }
    // The lock is free when nobody serves the device (the link may be a stale leftover).
    int free_lock = flock(fd, LOCK_SH | LOCK_NB) == 0;
    close(fd);
    if (free_lock) {
        return QP_ERR_NOENT;
    }
    snprintf(path, sizeof path, "%s/" QPY_SERVE_LINK_NAME, device);
    ssize_t n = readlink(path, port, portlen - 1);
    if (n <= 0) {
        return QP_ERR_NOENT;
    }
    port[n] = '\0';
    return 0;
}
