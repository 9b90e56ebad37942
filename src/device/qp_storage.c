// qp_storage.c - open a device's flash and mount /usr and /bak (qp_storage.h).
//
// The geometry is the EC600S firmware's: 4096-byte read, program and block sizes, one block
// per flash sector. Mounting follows the newer firmware's boot script: VfsLfs1 first, then
// VfsLfs2 (qp_fs_mount with disk_version 0 detects in that order, moving to v2 only when
// no v1 superblock is found). Mounting is strict (a damaged partition is not silently
// repaired) unless the caller asks to format an empty one, as the boot does when neither
// version finds a file system; it formats with the version the device profile configures.
#include "device_internal.h"
#include "qp/qp_storage.h"
#include "qp/qp_err.h"
#include "qp/qp_firmware.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void flash_path(char *out, size_t outlen, const char *dir) {
    snprintf(out, outlen, "%s/%s", dir, QP_FLASH_IMAGE_NAME);
}

qp_storage_format_t qp_storage_format_of(const qp_device_profile_t *profile) {
    qp_storage_format_t fmt = {
        profile->usr_lfs_version == 2 ? QP_FS_DISK_VERSION_LFS2 : QP_FS_DISK_VERSION_LFS1,
        profile->bak_lfs_version == 2 ? QP_FS_DISK_VERSION_LFS2 : QP_FS_DISK_VERSION_LFS1,
    };
    return fmt;
}

static int volume_setup(qp_storage_t *st, qp_storage_volume_t *v, const char *partition,
                        const char *mount_name, uint32_t format_version) {
    memset(v, 0, sizeof *v);
    v->partition = partition;
    v->mount_name = mount_name;
    v->format_version = format_version ? format_version : QP_FS_DISK_VERSION_LFS1;
    int err = qp_flash_part_open(&v->part, &st->flash, &st->table, partition);
    if (err == 0) {
        err = qp_flash_bd_init(&v->bd, &v->part, QP_STORAGE_BLOCK_SIZE);
    }
    if (err < 0) {
        return err;
    }
    v->cfg.context = &v->bd;
    v->cfg.read = qp_flash_bd_read;
    v->cfg.prog = qp_flash_bd_prog;
    v->cfg.erase = qp_flash_bd_erase;
    v->cfg.sync = qp_flash_bd_sync;
    v->cfg.read_size = QP_STORAGE_BLOCK_SIZE;
    v->cfg.prog_size = QP_STORAGE_BLOCK_SIZE;
    v->cfg.block_size = QP_STORAGE_BLOCK_SIZE;
    v->cfg.block_count = v->bd.block_count;
    v->cfg.cache_size = QP_STORAGE_BLOCK_SIZE;
    v->cfg.disk_version = 0; // mount: v1, then v2
    return 0;
}

static int volume_mount(qp_storage_volume_t *v, unsigned flags, char *msg, size_t msglen) {
    int err = qp_fs_mount(&v->fs, &v->cfg);
    if (err == QP_ERR_CORRUPT && (flags & QP_STORAGE_FORMAT_IF_EMPTY)) {
        // Neither version found a file system: format it as configured. The config keeps
        // that version, so the mount below accepts only what was just written.
        v->cfg.disk_version = v->format_version;
        err = qp_fs_format(&v->fs, &v->cfg);
        if (err == 0) {
            v->formatted = 1;
            err = qp_fs_mount(&v->fs, &v->cfg);
        }
    }
    if (err < 0) {
        return qp_device_fail(err, msg, msglen, "%s (/%s): cannot mount: %s%s", v->partition,
                              v->mount_name, qp_strerror(err),
                              err == QP_ERR_CORRUPT ? " (no valid littlefs v1 or v2 file system)"
                                                    : "");
    }
    v->mounted = 1;
    return 0;
}

static void default_layout(qp_flash_ptable_t *layout) {
    qp_flash_layout_ec600s(layout, NULL); // the defaults always fit
}

int qp_storage_open(qp_storage_t *st, const char *device_dir, unsigned flags,
                    const qp_storage_format_t *fmt, char *msg, size_t msglen) {
    char path[4096];
    memset(st, 0, sizeof *st);
    qp_flash_init(&st->flash);
    qp_vfs_init(&st->vfs);
    flash_path(path, sizeof path, device_dir);

    int err;
    if (flags & QP_STORAGE_READONLY) {
        qp_flash_config_t cfg = {.flags = QP_FLASH_F_RDONLY};
        err = qp_flash_file_open(&st->flash, path, &cfg);
        if (err == 0) {
            err = qp_flash_ptable_read(&st->flash, &st->table);
        }
    } else {
        qp_flash_ptable_t layout;
        default_layout(&layout);
        err = qp_flash_file_provision(&st->flash, path, &layout, NULL, &st->table);
    }
    if (err < 0) {
        qp_storage_close(st);
        if (err == QP_ERR_BUSY) {
            return qp_device_fail(err, msg, msglen,
                                  "%s: in use by a running module (stop it, or use qpy --port)",
                                  path);
        }
        return qp_device_fail(err, msg, msglen, "%s: %s", path, qp_strerror(err));
    }
    qp_storage_format_t v1 = {0, 0};
    if (!fmt) {
        fmt = &v1;
    }
    if ((err = volume_setup(st, &st->usr, QP_FLASH_PART_CUSTOMER_FS, "usr", fmt->usr)) < 0
        || (err = volume_setup(st, &st->bak, QP_FLASH_PART_CUSTOMER_BACKUP_FS, "bak",
                               fmt->bak)) < 0) {
        qp_storage_close(st);
        return qp_device_fail(err, msg, msglen, "%s: partition table: %s", path, qp_strerror(err));
    }
    unsigned mount_flags = flags & QP_STORAGE_READONLY ? flags & ~QP_STORAGE_FORMAT_IF_EMPTY
                                                       : flags;
    if ((err = volume_mount(&st->usr, mount_flags, msg, msglen)) < 0
        || (err = volume_mount(&st->bak, mount_flags, msg, msglen)) < 0) {
        qp_storage_close(st);
        return err;
    }
    unsigned bak_flags = flags & (QP_STORAGE_BAK_READONLY | QP_STORAGE_READONLY)
                       ? QP_VFS_MOUNT_READONLY : 0;
    qp_vfs_mount(&st->vfs, "usr", &st->usr.fs,
                 flags & QP_STORAGE_READONLY ? QP_VFS_MOUNT_READONLY : 0);
    qp_vfs_mount(&st->vfs, "bak", &st->bak.fs, bak_flags);
    return 0;
}

// ---- A script's own mounts ----

static qp_storage_volume_t *volume_named(qp_storage_t *st, const char *partition) {
    qp_storage_volume_t *volumes[] = {&st->usr, &st->bak};
    for (int i = 0; i < 2; i++) {
        if (volumes[i]->partition && strcmp(volumes[i]->partition, partition) == 0) {
            return volumes[i];
        }
    }
    return NULL;
}

// 1 when the volume holds a mounted littlefs of major version `lfs`.
static int holds(const qp_storage_volume_t *v, int lfs) {
    return v->mounted && (int)(v->fs.disk_version >> 16) == lfs;
}

int qp_storage_volume_find(qp_storage_t *st, const char *partition, int lfs,
                           qp_storage_volume_t **out) {
    qp_storage_volume_t *v = volume_named(st, partition);
    if (!v || !holds(v, lfs)) {
        return -ENODEV;
    }
    *out = v;
    return 0;
}

int qp_storage_mkfs(qp_storage_t *st, const char *partition, int lfs) {
    qp_storage_volume_t *v = volume_named(st, partition);
    if (!v || (lfs != 1 && lfs != 2)) {
        return -ENODEV;
    }
    for (unsigned i = 0; i < QP_VFS_MOUNT_MAX; i++) {
        if (st->vfs.mounts[i].name[0] && st->vfs.mounts[i].fs == &v->fs) {
            return QP_ERR_BUSY;
        }
    }
    if (v->mounted && (v->fs.files || v->fs.dirs)) {
        return QP_ERR_BUSY;
    }
    if (v->mounted) {
        qp_fs_unmount(&v->fs);
        v->mounted = 0;
    }
    v->cfg.disk_version = lfs == 2 ? QP_FS_DISK_VERSION_LFS2 : QP_FS_DISK_VERSION_LFS1;
    int err = qp_fs_format(&v->fs, &v->cfg);
    if (err == 0) {
        err = qp_fs_mount(&v->fs, &v->cfg);
    }
    v->mounted = err == 0;
    return err;
}

int qp_storage_mount(qp_storage_t *st, qp_storage_volume_t *v, int lfs, const char *path,
                     unsigned flags) {
    if (path[0] != '/') {
        return QP_ERR_INVAL;
    }
    if (path[1] == '\0') {
        return QP_ERR_PERM; // "/" holds the mount points
    }
    if (!holds(v, lfs)) {
        return -ENODEV;
    }
    int err = qp_vfs_mount(&st->vfs, path + 1, &v->fs, flags);
    return err == QP_ERR_EXIST ? QP_ERR_PERM : err;
}

int qp_storage_umount(qp_storage_t *st, const char *path) {
    if (path[0] != '/') {
        return QP_ERR_INVAL;
    }
    int err = qp_vfs_umount(&st->vfs, path + 1);
    return err == QP_ERR_NOENT ? QP_ERR_INVAL : err;
}

void qp_storage_close(qp_storage_t *st) {
    qp_storage_volume_t *volumes[] = {&st->usr, &st->bak};
    for (int i = 0; i < 2; i++) {
        if (volumes[i]->mounted) {
            qp_fs_unmount(&volumes[i]->fs);
            volumes[i]->mounted = 0;
        }
    }
    qp_flash_close(&st->flash);
}

int qp_storage_create(const char *device_dir, const void *firmware, size_t firmware_len,
                      const qp_storage_format_t *fmt, char *msg, size_t msglen) {
    char path[4096];
    flash_path(path, sizeof path, device_dir);
    qp_flash_ptable_t layout;
    default_layout(&layout);
    qp_storage_t st;
    memset(&st, 0, sizeof st);
    qp_flash_init(&st.flash);
    int err = qp_flash_file_create(&st.flash, path, &(qp_flash_config_t){
                                       .size = layout.flash_size,
                                       .sector_size = layout.sector_size});
    if (err == 0) {
        err = qp_flash_ptable_write(&st.flash, &layout);
    }
    qp_flash_close(&st.flash);
    if (err < 0) {
        return qp_device_fail(err, msg, msglen, "%s: cannot create: %s", path, qp_strerror(err));
    }
    // Formats both partitions, as the factory image the module ships with.
    err = qp_storage_open(&st, device_dir, QP_STORAGE_FORMAT_IF_EMPTY, fmt, msg, msglen);
    if (err == 0 && firmware) {
        err = qp_firmware_install(&st.flash, &st.table, firmware, firmware_len, msg, msglen);
    }
    qp_storage_close(&st);
    return err;
}
