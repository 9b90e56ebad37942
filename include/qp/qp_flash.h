// qp_flash.h - the virtual module's NOR flash: a model with real NOR constraints, its RAM and
// file backends, the partition table, partition views, power-cut injection, and a block-device
// adapter for the file system.
//
// Why a model and not a plain byte array: the file system (src/fs) and FOTA must be tested
// against what a real NOR chip does to them. So erasing works on whole sectors and sets every
// byte to 0xFF; programming can only clear bits (1 -> 0); every erase wears its sector; and
// power can be cut in the middle of a program or erase, leaving it torn. The on-disk formats
// (flash.img and the partition table) are specified in docs/SPEC-partitions.md; section
// numbers below (§n) refer to it.
//
// Portability: everything here except the file backend (qp_flash_file_*) is plain C11 with no
// OS calls, usable on an MCU; the file backend lives in its own source file (qp_flash_file.c)
// so an MCU build leaves it out. Memory comes from caller buffers or the config's alloc
// callback; malloc is the default only when QP_NO_MALLOC is 0 (qp_flash_config.h).
//
// Errors: negative errno values from qp_err.h, 0 on success. Common to every call on an open
// handle:
//   QP_ERR_IO     power has been cut (§5): every operation fails until
//                 qp_flash_power_restore() or a reopen; or the image file failed
//   QP_ERR_RANGE  the address range lies (partly) outside the flash or partition
//   QP_ERR_INVAL  a bad argument (unaligned erase, NULL buffer, unopened handle)
//
// Thread-safety: none. A handle, and every partition view or block device over it, must be
// used by one thread at a time; different handles are independent.
#ifndef QP_FLASH_H
#define QP_FLASH_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_flash_config.h"

// Version of the formats in docs/SPEC-partitions.md (the flash.img container and the
// partition table). A reader refuses another major version (QP_ERR_NOTSUP) and accepts any
// minor version of its own major: minor versions only add fields in reserved space.
#define QP_FLASH_LAYOUT_VERSION_MAJOR 1
#define QP_FLASH_LAYOUT_VERSION_MINOR 0

#define QP_FLASH_DEFAULT_SECTOR_SIZE 4096u
#define QP_FLASH_DEFAULT_PAGE_SIZE 256u

// The name of the flash image inside a device directory.
#define QP_FLASH_IMAGE_NAME "flash.img"

// ---------------------------------------------------------------------------------------
// The flash handle
// ---------------------------------------------------------------------------------------

// Flags for qp_flash_config_t.flags.
//
// QP_FLASH_F_STRICT_PAGES: a program that crosses a page boundary fails with QP_ERR_INVAL,
//   as a raw NOR chip's page-program command cannot cross one (it would wrap inside the
//   page). Without the flag (the default) the model splits such a program into page
//   programs in address order, as a flash driver does; it still counts as one operation for
//   power-cut purposes (§5).
// QP_FLASH_F_PROG_AND: a program that would turn a 0 bit back into 1 does what silicon
//   does: the result is old AND new, the call succeeds, and stats.prog_violations counts it.
//   Without the flag (the default) such a program is refused with QP_ERR_INVAL before any
//   byte changes, because in a file system it is always a bug.
// QP_FLASH_F_KEEP: the RAM backend keeps the contents of the caller's data_buffer and
//   wear_buffer instead of starting erased with zero wear (an image loaded by the caller).
// QP_FLASH_F_RDONLY: programs and erases fail with QP_ERR_ROFS (the file backend opens the
//   image read-only: host tools looking at a device).
// QP_FLASH_F_SYNC: the file backend calls fdatasync() after every program and erase. Not
//   needed to survive the death of the process (§4.3), only for a host crash or power loss.
#define QP_FLASH_F_STRICT_PAGES 0x01u
#define QP_FLASH_F_PROG_AND     0x02u
#define QP_FLASH_F_KEEP         0x04u
#define QP_FLASH_F_RDONLY       0x08u
#define QP_FLASH_F_SYNC         0x10u

// Configuration: zero-initialise, then set what you need; zero means default. The handle
// keeps no pointer to the config itself, only to the buffers it names.
typedef struct qp_flash_config {
    uint32_t size;          // bytes of flash, a multiple of sector_size (file: 0 = from image)
    uint32_t sector_size;   // erase unit; 0: 4096 (file: 0 = from image); power of two
    uint32_t page_size;     // program unit; 0: 256 (file: 0 = from image); power of two,
                            // at most sector_size
    uint32_t flags;         // QP_FLASH_F_*

    // RAM backend: `size` bytes holding the flash contents, owned by the caller and used
    // until close. NULL: allocated.
    void *data_buffer;
    // sector_count = size / sector_size counters of erases. NULL: allocated.
    uint32_t *wear_buffer;

    // Allocator for what the caller did not provide; NULL alloc means malloc/free (or
    // QP_ERR_NOMEM when QP_NO_MALLOC is 1). `free` must accept what `alloc` returned.
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
} qp_flash_config_t;

// Statistics since open or the last qp_flash_stats_reset(). A refused call is not counted,
// except in prog_violations. A torn operation (§5) is counted with the bytes it applied.
typedef struct qp_flash_stats {
    uint64_t read_ops;        // qp_flash_read calls
    uint64_t read_bytes;
    uint64_t prog_ops;        // qp_flash_program calls
    uint64_t prog_bytes;
    uint64_t prog_pages;      // page programs they were split into
    uint64_t erase_ops;       // qp_flash_erase calls
    uint64_t erase_sectors;   // sectors erased (same as bytes / sector_size)
    uint64_t prog_violations; // programs that tried to turn a 0 bit into 1
    uint32_t last_violation_addr; // address of the first such byte of the latest one
} qp_flash_stats_t;

struct qp_flash_backend; // internal (src/flash/flash_internal.h)

// A flash handle, allocated by the caller (on the stack or in a struct). The geometry
// fields may be read after a successful open; every other field is private.
typedef struct qp_flash {
    uint32_t size;          // bytes
    uint32_t sector_size;
    uint32_t page_size;
    uint32_t sector_count;
    uint32_t flags;

    // private
    const struct qp_flash_backend *be; // NULL when not open
    uint8_t *mem;           // RAM backend contents
    int fd;                 // file backend descriptor
    uint32_t data_offset;   // file backend: where flash byte 0 is in the image
    uint32_t wear_offset;   // file backend: where the erase counters are in the image
    uint32_t *wear;         // erase counter per sector (mirrors the image for files)
    uint8_t owns_mem;
    uint8_t owns_wear;
    uint8_t powered_off;    // set by a power cut, cleared by qp_flash_power_restore()
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
    qp_flash_stats_t stats;
    uint64_t ops;           // programs + erases accepted since open
    uint64_t cut_at;        // value of `ops` whose operation is torn; 0: none armed
    uint64_t cut_seed;
} qp_flash_t;

// Makes `f` a closed handle; qp_flash_close() on it is then a no-op. Never fails. (A
// zero-initialised handle is also closed.)
void qp_flash_init(qp_flash_t *f);

// Opens a RAM flash. Unless QP_FLASH_F_KEEP is set, it starts fully erased (0xFF) with
// every erase counter at 0.
// @retval QP_ERR_INVAL geometry invalid (size 0 or not a multiple of the sector size,
//                      sizes not powers of two, page larger than sector)
// @retval QP_ERR_NOMEM a buffer could not be allocated (nothing is left allocated)
int qp_flash_open_ram(qp_flash_t *f, const qp_flash_config_t *cfg);

// Closes `f`, freeing what the library allocated, and leaves it closed. Accepts NULL and a
// closed handle. Returns 0, or QP_ERR_IO if the file backend's final close() failed (the
// handle is closed anyway).
int qp_flash_close(qp_flash_t *f);

// Copies `len` bytes at `addr` into `buf`. Any alignment.
int qp_flash_read(qp_flash_t *f, uint32_t addr, void *buf, uint32_t len);

// Programs `len` bytes at `addr`: each flash byte becomes old AND new. Any alignment; a
// program crossing a page boundary is split into page programs (or refused with
// QP_FLASH_F_STRICT_PAGES). len 0 does nothing and is not counted.
// The 1 -> 0 rule: a program is refused if any byte of `buf` has a 1 bit where the flash
// holds a 0, since that byte would not read back as written (this includes writing 0xFF
// over programmed data, which silicon ignores; use QP_FLASH_F_PROG_AND for that).
// @retval QP_ERR_INVAL the 1 -> 0 rule is broken; nothing was written (without
//                      QP_FLASH_F_PROG_AND); or a page boundary is crossed with
//                      QP_FLASH_F_STRICT_PAGES
// @retval QP_ERR_ROFS  opened with QP_FLASH_F_RDONLY
// @retval QP_ERR_IO    power cut: this program was torn (§5), or power was already off
int qp_flash_program(qp_flash_t *f, uint32_t addr, const void *buf, uint32_t len);

// Erases the sectors covering [addr, addr + len) to 0xFF and adds one to each sector's
// erase counter. Both addr and len must be multiples of the sector size; len 0 does
// nothing. One call is one operation for power-cut purposes, however many sectors.
// @retval QP_ERR_INVAL unaligned
// @retval QP_ERR_ROFS  opened with QP_FLASH_F_RDONLY
// @retval QP_ERR_IO    power cut: this erase was torn (§5), or power was already off
int qp_flash_erase(qp_flash_t *f, uint32_t addr, uint32_t len);

// Makes completed operations durable: fdatasync() for the file backend, nothing for RAM.
int qp_flash_sync(qp_flash_t *f);

// The erase counter of sector `sector` in *count.
// @retval QP_ERR_RANGE no such sector
int qp_flash_wear(const qp_flash_t *f, uint32_t sector, uint32_t *count);

// Smallest and largest erase counter over all sectors, and their sum. Any pointer may be
// NULL.
void qp_flash_wear_summary(const qp_flash_t *f, uint32_t *min, uint32_t *max,
                           uint64_t *total);

// Statistics since open or the last reset. The op counter (qp_flash_op_count) is not reset.
void qp_flash_stats_get(const qp_flash_t *f, qp_flash_stats_t *stats);
void qp_flash_stats_reset(qp_flash_t *f);

// ---------------------------------------------------------------------------------------
// Power-cut injection (§5)
// ---------------------------------------------------------------------------------------

// Programs and erases accepted since open (refused calls and reads are not counted). A
// test runs its workload once to learn the count, then sweeps qp_flash_powercut_arm(n) for
// n = 1..count.
uint64_t qp_flash_op_count(const qp_flash_t *f);

// Cuts power during the n-th program or erase from now (n = 1: the next one); n = 0
// disarms. That operation is torn: it applies a prefix of its bytes (possibly none, possibly
// all) and one more byte partly (some of its bits), returns QP_ERR_IO, and every later call
// fails with QP_ERR_IO until qp_flash_power_restore(). How much is applied depends only on
// `seed` and the operation's number, so a run is reproducible.
void qp_flash_powercut_arm(qp_flash_t *f, uint64_t n, uint64_t seed);

// 1 while powered, 0 after a cut.
int qp_flash_is_powered(const qp_flash_t *f);

// Powers the flash back up, keeping its (possibly torn) contents and disarming any cut
// not yet fired: the equivalent of rebooting the module. Reopening a file image does the
// same.
void qp_flash_power_restore(qp_flash_t *f);

// ---------------------------------------------------------------------------------------
// File backend (host only: POSIX; not in MCU builds) - flash.img, §4
// ---------------------------------------------------------------------------------------

// Creates a new, fully erased image at `path` with the geometry of `cfg` (size required)
// and opens it. The image is built under a temporary name and renamed into place, so a
// crash leaves either no image or a complete one.
// @retval QP_ERR_EXIST `path` exists
// @retval QP_ERR_INVAL bad geometry
// @retval QP_ERR_IO/QP_ERR_ACCES/QP_ERR_NOSPC the file could not be written
int qp_flash_file_create(qp_flash_t *f, const char *path, const qp_flash_config_t *cfg);

// Opens an existing image. Geometry fields of `cfg` that are non-zero must match the
// image's; `cfg` may be NULL. Every program and erase goes straight to the file with
// pwrite() (no user-space cache), erase counters included, so a killed process loses at
// most the operation in flight (§4.3).
// @retval QP_ERR_NOENT   no such file
// @retval QP_ERR_CORRUPT not a flash image: bad magic or header CRC, impossible geometry,
//                        or the file is shorter than its header says
// @retval QP_ERR_NOTSUP  layout major version other than QP_FLASH_LAYOUT_VERSION_MAJOR
// @retval QP_ERR_INVAL   `cfg` geometry differs from the image's
// @retval QP_ERR_BUSY    another handle (in any process) has the image open for writing,
//                        or, for a writer, open at all (flock, §4.3)
int qp_flash_file_open(qp_flash_t *f, const char *path, const qp_flash_config_t *cfg);

// ---------------------------------------------------------------------------------------
// Partition table (§3)
// ---------------------------------------------------------------------------------------

#define QP_FLASH_PART_NAME_MAX 31   // characters, without the terminating NUL
#define QP_FLASH_PTABLE_MAX 16      // entries
#define QP_FLASH_PTABLE_ADDR 0u     // flash address of the table (first sector)

// Partition names used by the platform.
#define QP_FLASH_PART_PTABLE "ptable"
#define QP_FLASH_PART_FIRMWARE "firmware"
#define QP_FLASH_PART_FOTA_PKG "fota_pkg"
#define QP_FLASH_PART_CUSTOMER_FS "customer_fs"
#define QP_FLASH_PART_CUSTOMER_BACKUP_FS "customer_backup_fs"

// Entry flags (§3.3); informational for the library, enforced by its users.
#define QP_FLASH_PART_F_READONLY 0x01u  // scripts may not write it (the OS may)

typedef struct qp_flash_part_entry {
    char name[QP_FLASH_PART_NAME_MAX + 1]; // NUL-terminated
    uint32_t offset;                       // flash address, sector aligned
    uint32_t size;                         // bytes, a multiple of the sector size
    uint32_t flags;                        // QP_FLASH_PART_F_*
} qp_flash_part_entry_t;

typedef struct qp_flash_ptable {
    uint32_t flash_size;   // the geometry the table was made for
    uint32_t sector_size;
    uint32_t count;        // entries used in parts[]
    qp_flash_part_entry_t parts[QP_FLASH_PTABLE_MAX];
} qp_flash_ptable_t;

// Overrides for the default layout; zero-initialise, zero means default. The runtime fills
// it from the device profile.
typedef struct qp_flash_layout_opts {
    uint32_t flash_size;              // 0: 16 MiB
    uint32_t sector_size;             // 0: 4096
    uint32_t firmware_size;           // 0: 4 MiB
    uint32_t fota_pkg_size;           // 0: 2 MiB
    uint32_t customer_fs_size;        // 0: 5242880 (5 MB, /usr)
    uint32_t customer_backup_fs_size; // 0: 204800 (200 KB, /bak)
} qp_flash_layout_opts_t;

// Builds the EC600S layout (§3.4) into `t`: ptable, firmware, fota_pkg, customer_fs,
// customer_backup_fs, in that order from address 0, each sector aligned; what is left at
// the end of the flash is unallocated. `opts` may be NULL.
// @retval QP_ERR_INVAL a size is not a multiple of the sector size, or bad sector size
// @retval QP_ERR_NOSPC the partitions do not fit in flash_size
int qp_flash_layout_ec600s(qp_flash_ptable_t *t, const qp_flash_layout_opts_t *opts);

// Checks a table (§3.2 rules): names non-empty, NUL-terminated and unique; partitions
// sector aligned, inside the flash, not overlapping; a "ptable" entry at address 0.
// @retval QP_ERR_INVAL the first rule broken
int qp_flash_ptable_validate(const qp_flash_ptable_t *t);

// The entry called `name`, or NULL.
const qp_flash_part_entry_t *qp_flash_ptable_find(const qp_flash_ptable_t *t,
                                                  const char *name);

// Writes `t` to the flash: erases the ptable partition's first sector and programs the
// encoded table (two operations). The table's geometry must match the flash.
// @retval QP_ERR_INVAL the table fails validation or does not match the flash geometry
int qp_flash_ptable_write(qp_flash_t *f, const qp_flash_ptable_t *t);

// Reads and checks the table stored in the flash.
// @retval QP_ERR_NOENT   the first sector is erased (no table was ever written)
// @retval QP_ERR_CORRUPT bad magic, CRC, count or field; or the stored table breaks a
//                        validation rule or does not match the flash geometry
// @retval QP_ERR_NOTSUP  another major version
int qp_flash_ptable_read(qp_flash_t *f, qp_flash_ptable_t *t);

// Opens the device flash at `path` and reads its partition table into *table, creating
// what is missing: a new image with `layout`'s geometry when there is no file (page size
// and flags from `cfg`, which may be NULL), and `layout` written as its table when the
// table sector is blank (a first boot, or a creation interrupted before the table was
// written). An existing image keeps its own table, whatever `layout` says; a damaged table
// is reported, never overwritten. On failure the handle is closed.
// @retval QP_ERR_CORRUPT the image header or the stored table is damaged
// @retval QP_ERR_INVAL   `layout` fails validation, or the existing image's geometry
//                        differs from `cfg`'s non-zero fields
// and the codes of qp_flash_file_create/qp_flash_file_open.
int qp_flash_file_provision(qp_flash_t *f, const char *path, const qp_flash_ptable_t *layout,
                            const qp_flash_config_t *cfg, qp_flash_ptable_t *table);

// ---------------------------------------------------------------------------------------
// Partition views
// ---------------------------------------------------------------------------------------

// A window [offset, offset + size) of a flash with addresses relative to its start and
// bounds checked on every call. Caller-allocated; it keeps a pointer to the flash, which
// must stay open while the view is used. No close is needed.
typedef struct qp_flash_part {
    qp_flash_t *flash;
    uint32_t offset;
    uint32_t size;
    uint32_t flags;   // from the table entry; 0 for qp_flash_part_init
} qp_flash_part_t;

// A view of an arbitrary sector-aligned range (e.g. the whole flash, for tests).
// @retval QP_ERR_INVAL not sector aligned, or size 0
// @retval QP_ERR_RANGE outside the flash
int qp_flash_part_init(qp_flash_part_t *p, qp_flash_t *f, uint32_t offset, uint32_t size);

// The view of partition `name` of table `t` (which need not outlive the view).
// @retval QP_ERR_NOENT no such partition
// @retval QP_ERR_RANGE the entry lies outside this flash
int qp_flash_part_open(qp_flash_part_t *p, qp_flash_t *f, const qp_flash_ptable_t *t,
                       const char *name);

// As qp_flash_read/program/erase with partition-relative addresses.
// @retval QP_ERR_RANGE the range leaves the partition
int qp_flash_part_read(const qp_flash_part_t *p, uint32_t off, void *buf, uint32_t len);
int qp_flash_part_program(const qp_flash_part_t *p, uint32_t off, const void *buf,
                          uint32_t len);
int qp_flash_part_erase(const qp_flash_part_t *p, uint32_t off, uint32_t len);

// ---------------------------------------------------------------------------------------
// Block-device adapter (for src/fs or any littlefs-style config of callbacks)
// ---------------------------------------------------------------------------------------

// A partition cut into blocks of block_size bytes (a multiple of the sector size). Point
// the file system's context pointer at the qp_flash_bd_t and its callbacks at the
// functions below. Caller-allocated; no close.
typedef struct qp_flash_bd {
    qp_flash_part_t part;
    uint32_t block_size;
    uint32_t block_count;  // whole blocks in the partition; a partial tail is unused
} qp_flash_bd_t;

// @retval QP_ERR_INVAL block_size not a non-zero multiple of the sector size, or larger
//                      than the partition
int qp_flash_bd_init(qp_flash_bd_t *bd, const qp_flash_part_t *part, uint32_t block_size);

// Callbacks with `ctx` = the qp_flash_bd_t. They return 0 or the flash's negative code;
// an access past the end of the block or beyond block_count is QP_ERR_RANGE. The erase
// callback erases the whole block (all its sectors, one operation).
int qp_flash_bd_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size);
int qp_flash_bd_prog(void *ctx, uint32_t block, uint32_t off, const void *buf,
                     uint32_t size);
int qp_flash_bd_erase(void *ctx, uint32_t block);
int qp_flash_bd_sync(void *ctx);

#endif
