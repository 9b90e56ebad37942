// qp_fs_config.h - compile-time options of the file system library (src/fs).
//
// Every option is `#ifndef QP_FS_X / #define QP_FS_X (default)` and is tested with `#if`, so
// -Wundef catches a misspelt option. A port overrides them in one header injected with
// -DQP_CONFIG_FILE=<file.h> (as littlefs's LFS_CONFIG). Run-time knobs (geometry, cache
// sizes, buffers) live in struct qp_fs_config, not here.
#ifndef QP_FS_CONFIG_H
#define QP_FS_CONFIG_H

#if defined(QP_CONFIG_FILE)
#include QP_CONFIG_FILE
#endif

// 1: the library never calls malloc; every buffer must come from the config (read_buffer,
// prog_buffer, lookahead_buffer, the file config's buffer) or from the config's alloc
// callbacks. Cost of 0: malloc/free are linked in as the default allocator.
#ifndef QP_FS_NO_MALLOC
#if defined(QP_NO_MALLOC)
#define QP_FS_NO_MALLOC 1
#else
#define QP_FS_NO_MALLOC 0
#endif
#endif

// Longest file name the library can hold, and the size of qp_fs_info_t.name minus one.
// littlefs v1 stores an 8-bit name length, so 255 is the format's own limit. Cost: this
// many bytes in every qp_fs_info_t (usually on the stack).
#ifndef QP_FS_NAME_MAX
#define QP_FS_NAME_MAX 255
#endif

// 1: read back every program and compare, turning a silent bad write into QP_ERR_CORRUPT
// and a relocation (littlefs v1 does the same). Cost: one extra read per program.
#ifndef QP_FS_VERIFY_PROG
#define QP_FS_VERIFY_PROG 1
#endif

// Lookahead bitmap size in bytes when the config leaves lookahead_size at 0. Each byte
// covers 8 blocks; the allocator rescans the metadata when the window is used up.
#ifndef QP_FS_LOOKAHEAD_DEFAULT
#define QP_FS_LOOKAHEAD_DEFAULT 16
#endif

// Blocks an operation may allocate before they become reachable from the metadata. They are
// kept out of the allocator's rescans meanwhile (see SPEC-fs.md §6). Cost: 4 bytes each in
// qp_fs_t.
#ifndef QP_FS_PENDING_MAX
#define QP_FS_PENDING_MAX 16
#endif

#endif
