// qp_flash_file.c - the file backend: the flash of a device directory, kept in flash.img
// (docs/SPEC-partitions.md §4). Host only: POSIX open/pread/pwrite/flock; an MCU build
// leaves this file out (QP_FLASH_FILE_BACKEND=OFF).
//
// Nothing is cached in user space. Every byte the model changes is pwrite()n at once, and
// the erase counters are a table inside the image updated the same way, so a process
// killed with SIGKILL loses at most the operation it was in (§4.3): what a completed
// pwrite() handed to the kernel survives the process. fdatasync() (QP_FLASH_F_SYNC or
// qp_flash_sync) is only needed against a host crash.
#include "flash_internal.h"
#include "qp/qp_err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

// §4.1 image header.
#define IMG_MAGIC "QPFLASH\0"
#define IMG_MAGIC_LEN 8
#define IMG_HEADER_USED 64u      // bytes defined by version 1.0, CRC in the last 4
#define IMG_DATA_OFFSET 4096u    // flash byte 0; the rest of the first 4 KiB is reserved

static int errno_code(int e) {
    switch (e) {
    case ENOENT: return QP_ERR_NOENT;
    case EEXIST: return QP_ERR_EXIST;
    case EACCES:
    case EPERM: return QP_ERR_ACCES;
    case ENOSPC: return QP_ERR_NOSPC;
    case EROFS: return QP_ERR_ROFS;
    case EWOULDBLOCK: return QP_ERR_BUSY;
    default: return QP_ERR_IO;
    }
}

// pread/pwrite of exactly `len` bytes, resuming after signals and short transfers. A
// short read means the image is shorter than its header promised.
static int transfer_all(int fd, uint8_t *p, size_t len, off_t off, int writing) {
    while (len) {
        ssize_t n = writing ? pwrite(fd, p, len, off) : pread(fd, p, len, off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errno_code(errno) : writing ? QP_ERR_IO : QP_ERR_CORRUPT;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off) {
    return transfer_all(fd, buf, len, off, 0);
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off) {
    // transfer_all only reads from the buffer when writing.
    return transfer_all(fd, (uint8_t *)(uintptr_t)buf, len, off, 1);
}

static int file_read(qp_flash_t *f, uint32_t addr, void *buf, uint32_t len) {
    int err = pread_all(f->fd, buf, len, (off_t)f->data_offset + addr);
    // During operation a short image is an I/O failure of the storage, not bad data.
    return err == QP_ERR_CORRUPT ? QP_ERR_IO : err;
}

static int file_write(qp_flash_t *f, uint32_t addr, const void *buf, uint32_t len) {
    return pwrite_all(f->fd, buf, len, (off_t)f->data_offset + addr);
}

static int file_wear_store(qp_flash_t *f, uint32_t sector) {
    uint8_t le[4];
    qp_flash_put_le32(le, f->wear[sector]);
    // Four aligned bytes in one pwrite: the kernel applies them together or not at all as
    // far as a dying process is concerned.
    return pwrite_all(f->fd, le, sizeof le, (off_t)f->wear_offset + 4 * (off_t)sector);
}

static int file_sync(qp_flash_t *f) {
    return fdatasync(f->fd) < 0 ? errno_code(errno) : 0;
}

static int file_close(qp_flash_t *f) {
    return close(f->fd) < 0 ? QP_ERR_IO : 0; // also drops the flock
}

static const struct qp_flash_backend file_backend = {
    file_read, file_write, file_wear_store, file_sync, file_close,
};

static void encode_header(uint8_t h[IMG_HEADER_USED], uint32_t size, uint32_t sector,
                          uint32_t page, uint32_t wear_offset) {
    memset(h, 0, IMG_HEADER_USED);
    memcpy(h, IMG_MAGIC, IMG_MAGIC_LEN);
    qp_flash_put_le16(h + 8, QP_FLASH_LAYOUT_VERSION_MAJOR);
    qp_flash_put_le16(h + 10, QP_FLASH_LAYOUT_VERSION_MINOR);
    qp_flash_put_le32(h + 12, 0); // flags, none defined
    qp_flash_put_le32(h + 16, size);
    qp_flash_put_le32(h + 20, sector);
    qp_flash_put_le32(h + 24, page);
    qp_flash_put_le32(h + 28, IMG_DATA_OFFSET);
    qp_flash_put_le32(h + 32, wear_offset);
    qp_flash_put_le32(h + 60, qp_flash_crc32(0, h, 60));
}

// Loads the erase counters of the image into f->wear.
static int load_wear(qp_flash_t *f) {
    uint8_t buf[256];
    for (uint32_t s = 0; s < f->sector_count;) {
        uint32_t n = f->sector_count - s < sizeof buf / 4 ? f->sector_count - s
                                                          : (uint32_t)(sizeof buf / 4);
        int err = pread_all(f->fd, buf, 4 * (size_t)n, (off_t)f->wear_offset + 4 * (off_t)s);
        if (err < 0) {
            return err;
        }
        for (uint32_t i = 0; i < n; i++) {
            f->wear[s + i] = qp_flash_get_le32(buf + 4 * i);
        }
        s += n;
    }
    return 0;
}

static int geometry_matches(const qp_flash_config_t *cfg, uint32_t size, uint32_t sector,
                            uint32_t page) {
    return (!cfg->size || cfg->size == size) && (!cfg->sector_size || cfg->sector_size == sector) &&
           (!cfg->page_size || cfg->page_size == page);
}

int qp_flash_file_open(qp_flash_t *f, const char *path, const qp_flash_config_t *cfg) {
    static const qp_flash_config_t defaults;
    if (!f || !path) {
        return QP_ERR_INVAL;
    }
    qp_flash_init(f);
    if (!cfg) {
        cfg = &defaults;
    }
    int rdonly = (cfg->flags & QP_FLASH_F_RDONLY) != 0;
    int fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        return errno_code(errno);
    }
    int err = 0;
    // One writer, or any number of readers (host tools), per image.
    if (flock(fd, (rdonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        err = errno == EWOULDBLOCK ? QP_ERR_BUSY : errno_code(errno);
        goto fail_fd;
    }
    uint8_t h[IMG_HEADER_USED];
    err = pread_all(fd, h, sizeof h, 0);
    if (err < 0) {
        goto fail_fd;
    }
    if (memcmp(h, IMG_MAGIC, IMG_MAGIC_LEN) != 0) {
        err = QP_ERR_CORRUPT;
        goto fail_fd;
    }
    if (qp_flash_get_le16(h + 8) != QP_FLASH_LAYOUT_VERSION_MAJOR) {
        err = QP_ERR_NOTSUP;
        goto fail_fd;
    }
    if (qp_flash_get_le32(h + 60) != qp_flash_crc32(0, h, 60)) {
        err = QP_ERR_CORRUPT;
        goto fail_fd;
    }
    uint32_t size = qp_flash_get_le32(h + 16);
    uint32_t sector = qp_flash_get_le32(h + 20);
    uint32_t page = qp_flash_get_le32(h + 24);
    uint32_t data_offset = qp_flash_get_le32(h + 28);
    uint32_t wear_offset = qp_flash_get_le32(h + 32);
    if (!geometry_matches(cfg, size, sector, page)) {
        err = QP_ERR_INVAL;
        goto fail_fd;
    }
    err = qp_flash_setup(f, cfg, size, sector, page);
    if (err < 0) {
        // The header passed its CRC but holds an impossible geometry; not our caller's
        // fault, unless the allocator failed.
        err = err == QP_ERR_INVAL ? QP_ERR_CORRUPT : err;
        goto fail_fd;
    }
    // The three regions must not overlap and the file must hold them all (§4.1).
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err = errno_code(errno);
        goto fail_setup;
    }
    uint64_t wear_end = (uint64_t)wear_offset + 4ull * f->sector_count;
    if (data_offset < IMG_HEADER_USED || (uint64_t)data_offset + size > wear_offset ||
        wear_end > (uint64_t)st.st_size) {
        err = QP_ERR_CORRUPT;
        goto fail_setup;
    }
    f->fd = fd;
    f->data_offset = data_offset;
    f->wear_offset = wear_offset;
    err = load_wear(f);
    if (err < 0) {
        goto fail_setup;
    }
    f->be = &file_backend;
    return 0;

fail_setup:
    qp_flash_release(f);
fail_fd:
    close(fd);
    qp_flash_init(f);
    return err;
}

// Writes a complete, erased image to the open descriptor `fd`.
static int write_new_image(int fd, uint32_t size, uint32_t sector, uint32_t page) {
    uint32_t sectors = size / sector;
    uint32_t wear_offset = IMG_DATA_OFFSET + size;
    uint8_t buf[4096];
    memset(buf, 0, sizeof buf);
    encode_header(buf, size, sector, page, wear_offset);
    int err = pwrite_all(fd, buf, IMG_DATA_OFFSET, 0);
    memset(buf, 0xFF, sizeof buf);
    for (uint32_t done = 0; err == 0 && done < size; done += (uint32_t)sizeof buf) {
        uint32_t n = size - done < sizeof buf ? size - done : (uint32_t)sizeof buf;
        err = pwrite_all(fd, buf, n, (off_t)IMG_DATA_OFFSET + done);
    }
    memset(buf, 0, sizeof buf);
    for (uint32_t done = 0; err == 0 && done < 4 * sectors; done += (uint32_t)sizeof buf) {
        uint32_t n = 4 * sectors - done < sizeof buf ? 4 * sectors - done : (uint32_t)sizeof buf;
        err = pwrite_all(fd, buf, n, (off_t)wear_offset + done);
    }
    if (err == 0 && fsync(fd) < 0) {
        err = errno_code(errno);
    }
    return err;
}

int qp_flash_file_create(qp_flash_t *f, const char *path, const qp_flash_config_t *cfg) {
    if (!f || !path || !cfg) {
        return QP_ERR_INVAL;
    }
    qp_flash_init(f);
    // Check the geometry with the model's own rules before writing megabytes. The probe
    // handle has its wear counters allocated; release them at once.
    qp_flash_t probe;
    int err = qp_flash_setup(&probe, cfg, cfg->size, cfg->sector_size, cfg->page_size);
    if (err < 0) {
        return err;
    }
    uint32_t size = probe.size, sector = probe.sector_size, page = probe.page_size;
    qp_flash_release(&probe);
    if (access(path, F_OK) == 0) {
        return QP_ERR_EXIST;
    }

    // Build under a temporary name, then link() it into place: link fails if `path`
    // appeared meanwhile (no clobbering), and a crash leaves at worst a stray .tmp file.
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) {
        return QP_ERR_INVAL;
    }
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_code(errno);
    }
    err = write_new_image(fd, size, sector, page);
    if (close(fd) < 0 && err == 0) {
        err = QP_ERR_IO;
    }
    if (err == 0 && link(tmp, path) < 0) {
        err = errno_code(errno);
    }
    unlink(tmp);
    if (err < 0) {
        return err;
    }
    qp_flash_config_t open_cfg = *cfg;
    open_cfg.flags &= ~QP_FLASH_F_RDONLY;
    return qp_flash_file_open(f, path, &open_cfg);
}

int qp_flash_file_provision(qp_flash_t *f, const char *path, const qp_flash_ptable_t *layout,
                            const qp_flash_config_t *cfg, qp_flash_ptable_t *table) {
    static const qp_flash_config_t defaults;
    if (!f || !path || !table || qp_flash_ptable_validate(layout) < 0) {
        return QP_ERR_INVAL;
    }
    if (!cfg) {
        cfg = &defaults;
    }
    int err = qp_flash_file_open(f, path, cfg);
    if (err == QP_ERR_NOENT) {
        qp_flash_config_t c = *cfg;
        c.size = layout->flash_size;
        c.sector_size = layout->sector_size;
        err = qp_flash_file_create(f, path, &c);
    }
    if (err < 0) {
        return err;
    }
    err = qp_flash_ptable_read(f, table);
    if (err == QP_ERR_NOENT && !(f->flags & QP_FLASH_F_RDONLY)) {
        err = qp_flash_ptable_write(f, layout);
        if (err == 0) {
            err = qp_flash_ptable_read(f, table);
        }
    }
    if (err < 0) {
        qp_flash_close(f);
    }
    return err;
}
