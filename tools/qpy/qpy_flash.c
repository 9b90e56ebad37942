// qpy_flash.c - `qpy flash`: what QPYcom's download does to a module, for a virtual one.
//
//   qpy flash [--customer-fs FILE] [--backup-fs FILE] [--firmware FILE]
//   qpy flash BUNDLE                 (docs/SPEC-bundle.md, made by `mklfs --bundle`)
//
// Every image is checked before anything is written: a file-system image must have its
// partition's exact size and mount (qp_bundle_check_part mounts a RAM copy), a firmware
// image must pass qp_image's header and hash checks, have its `app` section and fit its
// partition. Only then is each partition erased and programmed (the firmware through
// qp_firmware_install, as `qpy device new` installs it). The flash lock refuses while the module runs
// (QP_ERR_BUSY), as a real module cannot be downloaded to while it runs a script.
#include "qpy_flash.h"

#include "qp/qp_bundle.h"
#include "qp/qp_err.h"
#include "qp/qp_firmware.h"
#include "qp/qp_flash.h"
#include "qp/qp_runtime.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char flash_usage[] =
    "Usage: qpy [--device DIR] flash [--customer-fs FILE] [--backup-fs FILE]\n"
    "                                [--firmware FILE]\n"
    "       qpy [--device DIR] flash BUNDLE\n"
    "\n"
    "Burns images into the partitions of a device that is not running, as QPYcom's\n"
    "download: customer_fs (/usr) and customer_backup_fs (/bak) images made by mklfs, a\n"
    "firmware image (system.img), or a production bundle of them (mklfs --bundle).\n"
    "Each image is checked first (size, and that it mounts or verifies); nothing is\n"
    "written unless all of them pass.\n"
    "\n"
    "Exit status: 0 done, 2 usage error or a file that is not a usable image, 5 the\n"
    "device cannot be written (missing, damaged, or in use by a running module).\n";

typedef struct {
    char partition[QP_BUNDLE_NAME_MAX + 1]; // table name
    const char *source;    // file name, for messages
    uint8_t *owned;        // buffer to free (the file, or the whole bundle)
    const uint8_t *data;
    size_t len;
} burn_t;

static int flash_usage_error(const char *what) {
    fprintf(stderr, "qpy: flash: %s\nTry 'qpy flash --help' for more information.\n", what);
    return QP_EXIT_USAGE;
}

static int load_file(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "qpy: flash: %s: %s\n", path, strerror(errno));
        return QP_EXIT_USAGE;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1u << 20;
            uint8_t *more = realloc(buf, cap);
            if (!more) {
                bad = 1;
                break;
            }
            buf = more;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            bad = ferror(f);
            break;
        }
    }
    fclose(f);
    if (bad) {
        fprintf(stderr, "qpy: flash: %s: cannot read\n", path);
        free(buf);
        return QP_EXIT_USAGE;
    }
    *out = buf;
    *len = n;
    return 0;
}

// Splits a bundle into its images (pointing into `bundle`, which the first burn owns).
static int open_bundle(const char *path, burn_t *burns, int *count) {
    uint8_t *data;
    size_t len;
    int status = load_file(path, &data, &len);
    if (status) {
        return status;
    }
    qp_bundle_info_t info;
    int err = qp_bundle_parse(&info, data, len, len);
    for (uint32_t i = 0; err == 0 && i < info.count; i++) {
        const qp_bundle_entry_t *e = &info.entries[i];
        if (qp_bundle_crc32(0, data + e->offset, e->size) != e->crc32) {
            fprintf(stderr, "qpy: flash: %s: the %s image is damaged (CRC-32 mismatch)\n",
                    path, e->partition);
            free(data);
            return QP_EXIT_USAGE;
        }
        burn_t *b = &burns[(*count)++];
        snprintf(b->partition, sizeof b->partition, "%s", e->partition);
        b->source = path;
        b->owned = i == 0 ? data : NULL;
        b->data = data + e->offset;
        b->len = e->size;
    }
    if (err < 0) {
        fprintf(stderr, "qpy: flash: %s: not a production bundle: %s\n", path,
                err == QP_ERR_NOTSUP ? "made by a newer version" : qp_strerror(err));
        free(data);
        return QP_EXIT_USAGE;
    }
    return 0;
}

// Is the image right for its partition on this device? Says why not.
static int check_burn(const burn_t *b, const qp_flash_ptable_t *table) {
    const qp_flash_part_entry_t *part = qp_flash_ptable_find(table, b->partition);
    if (!part) {
        fprintf(stderr, "qpy: flash: %s: the device has no %s partition\n", b->source,
                b->partition);
        return QP_EXIT_USAGE;
    }
    int is_fs = strcmp(b->partition, QP_FLASH_PART_FIRMWARE) != 0;
    if (is_fs ? b->len != part->size : b->len > part->size) {
        fprintf(stderr, "qpy: flash: %s: %zu bytes, but the %s partition %s %u bytes%s\n",
                b->source, b->len, b->partition, is_fs ? "is" : "holds at most",
                (unsigned)part->size,
                is_fs ? " (make the image with mklfs's default size, or -s to match)" : "");
        return QP_EXIT_USAGE;
    }
    const char *why = NULL;
    if (qp_bundle_check_part(b->partition, b->data, b->len, &why) < 0) {
        fprintf(stderr, "qpy: flash: %s: not a %s image: %s\n", b->source, b->partition,
                why ? why : "refused");
        return QP_EXIT_USAGE;
    }
    return 0;
}

static int burn(qp_flash_t *flash, const qp_flash_ptable_t *table, const burn_t *b) {
    if (strcmp(b->partition, QP_FLASH_PART_FIRMWARE) == 0) {
        // The device library's installer: it verifies the whole image again (every section
        // decompressed) and writes it the way the module's boot expects to find it.
        char msg[256];
        int err = qp_firmware_install(flash, table, b->data, b->len, msg, sizeof msg);
        if (err < 0) {
            fprintf(stderr, "qpy: flash: %s: %s\n", b->source, msg);
            return err == QP_ERR_CORRUPT ? QP_EXIT_USAGE : QP_EXIT_DEVICE;
        }
        return 0;
    }
    qp_flash_part_t part;
    int err = qp_flash_part_open(&part, flash, table, b->partition);
    if (err == 0) {
        err = qp_flash_part_erase(&part, 0, part.size);
    }
    // Erased sectors already hold 0xff: programming only the others is what a download
    // tool does, and keeps a mostly empty 5 MB image quick.
    uint32_t sector = flash->sector_size;
    for (size_t off = 0; err == 0 && off < b->len; off += sector) {
        uint32_t n = (uint32_t)(b->len - off < sector ? b->len - off : sector);
        int blank = 1;
        for (uint32_t i = 0; i < n && blank; i++) {
            blank = b->data[off + i] == 0xff;
        }
        if (!blank) {
            err = qp_flash_part_program(&part, (uint32_t)off, b->data + off, n);
        }
    }
    if (err == 0) {
        err = qp_flash_sync(flash);
    }
    if (err < 0) {
        fprintf(stderr, "qpy: flash: writing %s: %s\n", b->partition, qp_strerror(err));
        return QP_EXIT_DEVICE;
    }
    return 0;
}

int qpy_flash_main(const char *device_dir, int argc, char **argv) {
    static const struct option options[] = {
        {"customer-fs", required_argument, NULL, 'c'},
        {"backup-fs", required_argument, NULL, 'b'},
        {"firmware", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct {
        const char *partition, *file;
    } files[] = {
        {QP_FLASH_PART_FIRMWARE, NULL},
        {QP_FLASH_PART_CUSTOMER_FS, NULL},
        {QP_FLASH_PART_CUSTOMER_BACKUP_FS, NULL},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case 'f': files[0].file = optarg; break;
        case 'c': files[1].file = optarg; break;
        case 'b': files[2].file = optarg; break;
        case 'h': fputs(flash_usage, stdout); return 0;
        default: return flash_usage_error("unknown option, or an option without its file");
        }
    }
    int nfiles = !!files[0].file + !!files[1].file + !!files[2].file;
    int nbundles = argc - optind;
    if (nbundles > 1 || (nbundles == 1 && nfiles) || (nbundles == 0 && !nfiles)) {
        return flash_usage_error("give image options, or one bundle");
    }
    if (!device_dir) {
        return QPY_FLASH_NEEDS_DEVICE;
    }
    burn_t burns[QP_BUNDLE_MAX_ENTRIES];
    memset(burns, 0, sizeof burns);
    int count = 0, status = 0;
    if (nbundles) {
        status = open_bundle(argv[optind], burns, &count);
    }
    for (int i = 0; i < 3 && !status; i++) {
        if (files[i].file) {
            burn_t *b = &burns[count++];
            snprintf(b->partition, sizeof b->partition, "%s", files[i].partition);
            b->source = files[i].file;
            status = load_file(files[i].file, &b->owned, &b->len);
            b->data = b->owned;
        }
    }
    char path[4096 + 32];
    snprintf(path, sizeof path, "%s/%s", device_dir, QP_FLASH_IMAGE_NAME);
    qp_flash_t flash;
    qp_flash_init(&flash);
    qp_flash_ptable_t table;
    if (!status) {
        int err = qp_flash_file_open(&flash, path, NULL);
        if (err == 0) {
            err = qp_flash_ptable_read(&flash, &table);
        }
        if (err < 0) {
            fprintf(stderr, "qpy: flash: %s: %s\n", path,
                    err == QP_ERR_BUSY ? "in use by a running module (stop it first)"
                                       : qp_strerror(err));
            status = QP_EXIT_DEVICE;
        }
    }
    for (int i = 0; i < count && !status; i++) {
        status = check_burn(&burns[i], &table);
    }
    for (int i = 0; i < count && !status; i++) {
        status = burn(&flash, &table, &burns[i]);
    }
    qp_flash_close(&flash);
    for (int i = 0; i < count; i++) {
        free(burns[i].owned);
    }
    return status;
}
