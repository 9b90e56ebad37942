// mklfs.h - the mklfs program's own types and helpers (tools/mklfs; not a library).
//
// mklfs.c holds the command line and the image building; mklfs_util.c the small text
// helpers (growable buffer, JSON check, trimming, SHA-256 in hex) it uses.
#ifndef MKLFS_H
#define MKLFS_H

#include <stddef.h>
#include <stdint.h>

// Exit statuses (also in --help).
#define MKLFS_EXIT_INPUT 1    // the folder cannot be packed
#define MKLFS_EXIT_USAGE 2
#define MKLFS_EXIT_BADIMAGE 3 // an input image is not what it should be
#define MKLFS_EXIT_OUTPUT 4   // the output cannot be written

#define MKLFS_PATH_MAX 1024
#define MKLFS_MAX_PARAMS 16
#define MKLFS_MAX_ORDER 4096
// The firmware's checksum.py reads at most this many bytes of checksum.json.
#define MKLFS_FIRMWARE_CHECKSUM_MAX 16384

// A host read error travelling through the image-building code, which otherwise carries
// the FS library's codes: MKLFS_ERR_HOST(-errno), recognised by being <= the base.
#define MKLFS_ERR_HOST_BASE (-100000)
#define MKLFS_ERR_HOST(err) ((err) + MKLFS_ERR_HOST_BASE)

typedef struct mklfs_node {
    char host[MKLFS_PATH_MAX]; // path on the host
    char path[MKLFS_PATH_MAX]; // path in the image, from its root: "/lib/x.py"
    int is_dir;
    uint64_t size;
} mklfs_node_t;

// The folder in the order it goes into the image (parents before children).
typedef struct mklfs_tree {
    mklfs_node_t *nodes;
    size_t count, cap;
    uint64_t nfiles, file_bytes;
    const char *order[MKLFS_MAX_ORDER]; // --order paths, pointing into order_text
    int norder;
    char *order_text;
} mklfs_tree_t;

// A file made by mklfs itself (a parameter file, checksum.json), added before the tree.
typedef struct mklfs_extra {
    char path[300];
    uint8_t *data;
    size_t len;
} mklfs_extra_t;

typedef struct mklfs_build {
    const mklfs_tree_t *tree;
    const mklfs_extra_t *extra;
    int nextra;
    char prefix[16]; // where the tree goes in the image: "" or "/usr"
    uint32_t name_max;
    int verbose, show_progress;
    const char *label; // the output's name, for messages
    uint64_t total_files, total_bytes;
} mklfs_build_t;

typedef struct mklfs_buf {
    char *data; // NUL-terminated; NULL after an allocation failure
    size_t len, cap;
    int failed;
} mklfs_buf_t;

// Appends formatted text; on allocation failure frees the buffer and leaves data NULL.
void mklfs_buf_printf(mklfs_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// 1 when `len` bytes are one JSON value (object or array), else 0.
int mklfs_json_valid(const char *text, size_t len);
// Strips leading and trailing white space in place.
char *mklfs_trim(char *s);
// 1 for an optionally signed run of decimal digits.
int mklfs_is_integer(const char *s);
// SHA-256 of `len` bytes as 64 lower-case hex digits and a NUL.
void mklfs_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
