// qp_flash_ptable.c - the partition table: the default EC600S layout, validation, and its
// encoding in the first sector of the flash (docs/SPEC-partitions.md §3). Portable.
//
// The table lives in the flash itself, as on the real module, rather than in the image
// file's header: the RAM backend then carries one too, and writing it is subject to the
// same NOR rules and power cuts as everything else. A torn write is caught by the CRC and
// reported as QP_ERR_CORRUPT, never trusted.
#include "flash_internal.h"
#include "qp/qp_err.h"

#include <string.h>

// §3.1 encoding: a 32-byte header, `count` 48-byte entries, then a CRC-32 of all of it.
#define PT_MAGIC 0x54505051u  // "QPPT" read as a little-endian u32
#define PT_HEADER_SIZE 32u
#define PT_ENTRY_SIZE 48u
#define PT_NAME_SIZE 32u      // NUL-padded name field of an entry
#define PT_ENTRY_OFFSET 32u   // entry field offsets: offset, size, flags, reserved
#define PT_ENTRY_SIZE_F 36u
#define PT_ENTRY_FLAGS 40u

_Static_assert(PT_NAME_SIZE == QP_FLASH_PART_NAME_MAX + 1, "name field must hold a name");
#define PT_MAX_BYTES (PT_HEADER_SIZE + QP_FLASH_PTABLE_MAX * PT_ENTRY_SIZE + 4u)

// §3.4 defaults.
#define DEFAULT_FLASH_SIZE (16u * 1024 * 1024)
#define DEFAULT_FIRMWARE_SIZE (4u * 1024 * 1024)
#define DEFAULT_FOTA_PKG_SIZE (2u * 1024 * 1024)
#define DEFAULT_CUSTOMER_FS_SIZE 5242880u      // mklfs -s 5242880 in QuecPython's docs
#define DEFAULT_CUSTOMER_BACKUP_FS_SIZE 204800u

// strnlen() is POSIX, not C11; this library must build with a bare C library.
static size_t bounded_len(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n]) {
        n++;
    }
    return n;
}

static uint32_t or_default(uint32_t v, uint32_t def) {
    return v ? v : def;
}

static int add_entry(qp_flash_ptable_t *t, const char *name, uint64_t *next, uint32_t size,
                     uint32_t flags) {
    size_t len = bounded_len(name, QP_FLASH_PART_NAME_MAX + 1);
    if (size == 0 || size % t->sector_size || len > QP_FLASH_PART_NAME_MAX) {
        return QP_ERR_INVAL;
    }
    if (*next + size > t->flash_size) {
        return QP_ERR_NOSPC;
    }
    qp_flash_part_entry_t *e = &t->parts[t->count++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, len);
    e->offset = (uint32_t)*next;
    e->size = size;
    e->flags = flags;
    *next += size;
    return 0;
}

int qp_flash_layout_ec600s(qp_flash_ptable_t *t, const qp_flash_layout_opts_t *opts) {
    static const qp_flash_layout_opts_t none;
    if (!t) {
        return QP_ERR_INVAL;
    }
    if (!opts) {
        opts = &none;
    }
    qp_flash_ptable_t out;
    memset(&out, 0, sizeof out);
    out.sector_size = or_default(opts->sector_size, QP_FLASH_DEFAULT_SECTOR_SIZE);
    out.flash_size = or_default(opts->flash_size, DEFAULT_FLASH_SIZE);
    uint32_t ss = out.sector_size;
    if ((ss & (ss - 1)) || ss < PT_MAX_BYTES || out.flash_size % ss) {
        return QP_ERR_INVAL;
    }
    uint64_t next = 0;
    int err = add_entry(&out, QP_FLASH_PART_PTABLE, &next, ss, QP_FLASH_PART_F_READONLY);
    if (err < 0) {
        return err;
    }
    err = add_entry(&out, QP_FLASH_PART_FIRMWARE, &next,
                    or_default(opts->firmware_size, DEFAULT_FIRMWARE_SIZE),
                    QP_FLASH_PART_F_READONLY);
    if (err < 0) {
        return err;
    }
    err = add_entry(&out, QP_FLASH_PART_FOTA_PKG, &next,
                    or_default(opts->fota_pkg_size, DEFAULT_FOTA_PKG_SIZE), 0);
    if (err < 0) {
        return err;
    }
    err = add_entry(&out, QP_FLASH_PART_CUSTOMER_FS, &next,
                    or_default(opts->customer_fs_size, DEFAULT_CUSTOMER_FS_SIZE), 0);
    if (err < 0) {
        return err;
    }
    err = add_entry(&out, QP_FLASH_PART_CUSTOMER_BACKUP_FS, &next,
                    or_default(opts->customer_backup_fs_size,
                               DEFAULT_CUSTOMER_BACKUP_FS_SIZE),
                    QP_FLASH_PART_F_READONLY);
    if (err < 0) {
        return err;
    }
    *t = out;
    return 0;
}

static int name_ok(const char *name) {
    size_t n = bounded_len(name, QP_FLASH_PART_NAME_MAX + 1);
    return n > 0 && n <= QP_FLASH_PART_NAME_MAX;
}

int qp_flash_ptable_validate(const qp_flash_ptable_t *t) {
    if (!t) {
        return QP_ERR_INVAL;
    }
    uint32_t ss = t->sector_size;
    if (!ss || (ss & (ss - 1)) || ss < PT_MAX_BYTES || !t->flash_size ||
        t->flash_size % ss || t->count == 0 || t->count > QP_FLASH_PTABLE_MAX) {
        return QP_ERR_INVAL;
    }
    int have_ptable = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const qp_flash_part_entry_t *e = &t->parts[i];
        if (!name_ok(e->name) || e->size == 0 || e->offset % ss || e->size % ss ||
            e->offset > t->flash_size || e->size > t->flash_size - e->offset) {
            return QP_ERR_INVAL;
        }
        if (strcmp(e->name, QP_FLASH_PART_PTABLE) == 0 && e->offset == QP_FLASH_PTABLE_ADDR) {
            have_ptable = 1;
        }
        for (uint32_t j = 0; j < i; j++) {
            const qp_flash_part_entry_t *o = &t->parts[j];
            if (strcmp(o->name, e->name) == 0) {
                return QP_ERR_INVAL;
            }
            // Both ranges are inside a 32-bit flash, so the sums cannot wrap.
            if (e->offset < o->offset + o->size && o->offset < e->offset + e->size) {
                return QP_ERR_INVAL;
            }
        }
    }
    return have_ptable ? 0 : QP_ERR_INVAL;
}

const qp_flash_part_entry_t *qp_flash_ptable_find(const qp_flash_ptable_t *t,
                                                  const char *name) {
    if (!t || !name) {
        return NULL;
    }
    for (uint32_t i = 0; i < t->count && i < QP_FLASH_PTABLE_MAX; i++) {
        if (strncmp(t->parts[i].name, name, sizeof t->parts[i].name) == 0) {
            return &t->parts[i];
        }
    }
    return NULL;
}

static int matches_flash(const qp_flash_t *f, const qp_flash_ptable_t *t) {
    return t->flash_size == f->size && t->sector_size == f->sector_size;
}

int qp_flash_ptable_write(qp_flash_t *f, const qp_flash_ptable_t *t) {
    if (!f || !f->be || qp_flash_ptable_validate(t) < 0 || !matches_flash(f, t)) {
        return QP_ERR_INVAL;
    }
    uint8_t buf[PT_MAX_BYTES];
    memset(buf, 0, sizeof buf);
    qp_flash_put_le32(buf + 0, PT_MAGIC);
    qp_flash_put_le16(buf + 4, QP_FLASH_LAYOUT_VERSION_MAJOR);
    qp_flash_put_le16(buf + 6, QP_FLASH_LAYOUT_VERSION_MINOR);
    qp_flash_put_le32(buf + 8, PT_HEADER_SIZE);
    qp_flash_put_le32(buf + 12, PT_ENTRY_SIZE);
    qp_flash_put_le32(buf + 16, t->count);
    qp_flash_put_le32(buf + 20, t->flash_size);
    qp_flash_put_le32(buf + 24, t->sector_size);
    uint8_t *p = buf + PT_HEADER_SIZE;
    for (uint32_t i = 0; i < t->count; i++, p += PT_ENTRY_SIZE) {
        const qp_flash_part_entry_t *e = &t->parts[i];
        memcpy(p, e->name, bounded_len(e->name, QP_FLASH_PART_NAME_MAX));
        qp_flash_put_le32(p + PT_ENTRY_OFFSET, e->offset);
        qp_flash_put_le32(p + PT_ENTRY_SIZE_F, e->size);
        qp_flash_put_le32(p + PT_ENTRY_FLAGS, e->flags);
    }
    uint32_t len = (uint32_t)(p - buf);
    qp_flash_put_le32(p, qp_flash_crc32(0, buf, len));
    int err = qp_flash_erase(f, QP_FLASH_PTABLE_ADDR, f->sector_size);
    if (err < 0) {
        return err;
    }
    return qp_flash_program(f, QP_FLASH_PTABLE_ADDR, buf, len + 4);
}

// CRC-32 of flash bytes [addr, addr + len), read in small pieces so the stack cost does not
// grow with a future minor version's larger header or entries.
static int crc_flash(qp_flash_t *f, uint32_t addr, uint32_t len, uint32_t *crc) {
    uint8_t chunk[64];
    uint32_t c = 0;
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < sizeof chunk ? len - done : (uint32_t)sizeof chunk;
        int err = qp_flash_read(f, addr + done, chunk, n);
        if (err < 0) {
            return err;
        }
        c = qp_flash_crc32(c, chunk, n);
        done += n;
    }
    *crc = c;
    return 0;
}

int qp_flash_ptable_read(qp_flash_t *f, qp_flash_ptable_t *t) {
    if (!f || !f->be || !t) {
        return QP_ERR_INVAL;
    }
    uint8_t h[PT_HEADER_SIZE];
    int err = qp_flash_read(f, QP_FLASH_PTABLE_ADDR, h, sizeof h);
    if (err < 0) {
        return err;
    }
    uint32_t magic = qp_flash_get_le32(h);
    if (magic != PT_MAGIC) {
        uint8_t ff[PT_HEADER_SIZE];
        memset(ff, 0xFF, sizeof ff);
        return memcmp(h, ff, sizeof h) == 0 ? QP_ERR_NOENT : QP_ERR_CORRUPT;
    }
    if (qp_flash_get_le16(h + 4) != QP_FLASH_LAYOUT_VERSION_MAJOR) {
        return QP_ERR_NOTSUP;
    }
    // A later minor version may grow the header and the entries; we read what we know and
    // step over the rest (§3.1).
    uint32_t hsize = qp_flash_get_le32(h + 8);
    uint32_t esize = qp_flash_get_le32(h + 12);
    uint32_t count = qp_flash_get_le32(h + 16);
    if (hsize < PT_HEADER_SIZE || esize < PT_ENTRY_SIZE || count == 0 ||
        count > QP_FLASH_PTABLE_MAX || hsize > f->sector_size ||
        esize > f->sector_size / QP_FLASH_PTABLE_MAX) {
        return QP_ERR_CORRUPT;
    }
    uint32_t len = hsize + count * esize; // bounded by 2 sectors by the checks above
    if (len + 4 > f->sector_size) {
        return QP_ERR_CORRUPT;
    }
    uint32_t crc = 0;
    uint8_t stored[4];
    err = crc_flash(f, QP_FLASH_PTABLE_ADDR, len, &crc);
    if (err < 0) {
        return err;
    }
    err = qp_flash_read(f, QP_FLASH_PTABLE_ADDR + len, stored, sizeof stored);
    if (err < 0) {
        return err;
    }
    if (qp_flash_get_le32(stored) != crc) {
        return QP_ERR_CORRUPT;
    }

    qp_flash_ptable_t out;
    memset(&out, 0, sizeof out);
    out.flash_size = qp_flash_get_le32(h + 20);
    out.sector_size = qp_flash_get_le32(h + 24);
    out.count = count;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t e[PT_ENTRY_SIZE];
        err = qp_flash_read(f, QP_FLASH_PTABLE_ADDR + hsize + i * esize, e, sizeof e);
        if (err < 0) {
            return err;
        }
        // The name field is NUL-padded and must hold a terminator.
        if (memchr(e, 0, PT_NAME_SIZE) == NULL) {
            return QP_ERR_CORRUPT;
        }
        memcpy(out.parts[i].name, e, PT_NAME_SIZE);
        out.parts[i].offset = qp_flash_get_le32(e + PT_ENTRY_OFFSET);
        out.parts[i].size = qp_flash_get_le32(e + PT_ENTRY_SIZE_F);
        out.parts[i].flags = qp_flash_get_le32(e + PT_ENTRY_FLAGS);
    }
    // A table with a good CRC can still describe impossible partitions (a bug in whatever
    // wrote it); a user of the table must be able to trust every entry.
    if (qp_flash_ptable_validate(&out) < 0 || !matches_flash(f, &out)) {
        return QP_ERR_CORRUPT;
    }
    *t = out;
    return 0;
}
