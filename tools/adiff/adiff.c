// adiff.c - the `adiff` program: makes a FOTA package from two firmware images, with the
// seed's command line `adiff -l fs|fp OLD.img NEW.img PATCH.bin` (docs/SPEC-patch.md §8).
//
// The sections of both images are decompressed and diffed (qp_fota_diff over qp_diff), the
// package is applied on the host with the device's own apply code (qp_fota_apply) to measure
// the RAM and backup space it needs and to check the result is byte-identical to NEW.img,
// and the backup space is checked against the device layout for where the package will be
// stored: `-l fs` (a file in the file system: the whole fota_pkg partition but its store
// record is backup area) or `-l fp` (in the fota_pkg partition: only what the package
// leaves). With --sign KEY.pem the package is signed (SPEC-patch §3.5), and --genkey and
// --pubkey make the key pair and the public key a device profile holds. Public API only.
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fota.h"
#include "qp/qp_image.h"
#include "qp/qp_patch_sig.h"

#ifndef QP_VERSION
#define QP_VERSION "0"
#endif

#define EXIT_USAGE 1
#define EXIT_INPUT 2   // unreadable or invalid image or key, images for different models
#define EXIT_SPACE 3   // backup area or a partition too small on the target layout
#define EXIT_RAM 4     // over the RAM budget (-m)

// -m default: 2 MiB (the budget at the default image settings) when NEW.img's
// encoder leaves the patch decoders at least DECODE_ROOM_MIN of it; else the encoder plus
// DECODE_ROOM (images made with mkfw --dict above the default).
#define DEFAULT_BUDGET (2u << 20)
#define DECODE_ROOM_MIN (256u << 10)
#define DECODE_ROOM (512u << 10)
#define DECODE_REST (140u << 10)
#define EXIT_CHECK 5   // the self-check failed (a bug)
#define EXIT_OUTPUT 6  // PATCH.bin could not be written

static const char usage[] =
    "Usage: adiff -l fs|fp [options] OLD.img NEW.img PATCH.bin\n"
    "       adiff --genkey KEY.pem\n"
    "       adiff --pubkey KEY.pem [PUB.pem]\n"
    "\n"
    "Makes a FOTA package that upgrades firmware OLD.img to NEW.img (docs/SPEC-patch.md).\n"
    "The sections are diffed uncompressed; the package is applied on the host with the\n"
    "module's own code and the result checked against NEW.img before it is written.\n"
    "\n"
    "Options:\n"
    "  -l fs|fp         where the module will store the package: fs, a file in the file\n"
    "                   system; fp, the fota_pkg partition. Decides how much of fota_pkg is\n"
    "                   left for the old-firmware backup the update needs (checked).\n"
    "  --layout FILE    device layout: lines 'firmware SIZE', 'fota_pkg SIZE',\n"
    "                   'sector SIZE' (default: the EC600S layout, 4 MiB / 2 MiB / 4 KiB)\n"
    "  -m BUDGET        RAM the module may use for the update (e.g. 2M, 512K); the patch\n"
    "                   streams get smaller dictionaries until the package fits (default\n"
    "                   2M; for a NEW.img whose LZMA encoder leaves less than 256K of\n"
    "                   that, the encoder plus 512K)\n"
    "  --sign KEY.pem   sign the package with this ECDSA P-256 private key; a module\n"
    "                   whose profile holds the public key accepts only packages\n"
    "                   signed with it (docs/SECURITY.md)\n"
    "  --genkey KEY.pem make a new P-256 private key (file mode 0600, never overwritten)\n"
    "  --pubkey KEY.pem [PUB.pem]\n"
    "                   write the public key of KEY.pem (to stdout without PUB.pem), for\n"
    "                   qpy device new --fota-key or fota.set_public_key()\n"
    "  -v, --verbose    progress and figures on stderr (also when stderr is a terminal)\n"
    "  -q, --quiet      no summary\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Exit status: 0 done, 1 usage, 2 bad input image or key, 3 not enough backup space\n"
    "or partition too small, 4 over the RAM budget, 5 self-check failed, 6 cannot write\n"
    "PATCH.bin or the key file.\n";

static int verbose, quiet, progress_tty;
static struct timespec t0;

static double elapsed(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void note(const char *fmt, ...) {
    if (!verbose && !progress_tty) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "adiff: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static int die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "adiff: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return code;
}

static void on_progress(void *ctx, const char *phase, uint64_t done, uint64_t total) {
    (void)ctx;
    if ((verbose || progress_tty) && done == 0) {
        fprintf(stderr, "adiff: %s", phase);
        if (total > 1) {
            fprintf(stderr, " (%llu bytes)", (unsigned long long)total);
        }
        fprintf(stderr, " at %.1f s\n", elapsed());
    }
}

// "2M", "512K", "4096", "0x1000".
static int parse_size(const char *s, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s) {
        return -1;
    }
    if (*end == 'K' || *end == 'k') {
        v <<= 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v <<= 20;
        end++;
    }
    if (*end || v == 0 || v > UINT32_MAX) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

typedef struct layout {
    uint32_t firmware, fota_pkg, sector;
} layout_t;

static int read_layout(const char *path, layout_t *l) {
    FILE *f = fopen(path, "r");
    if (!f) {
        return die(EXIT_USAGE, "%s: %s", path, strerror(errno));
    }
    char line[256];
    int n = 0, err = 0;
    while (!err && fgets(line, sizeof line, f)) {
        n++;
        char key[64], val[64];
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == 0) {
            continue;
        }
        uint32_t v;
        if (sscanf(line, "%63s %63s", key, val) != 2 || parse_size(val, &v) < 0) {
            err = die(EXIT_USAGE, "%s:%d: expected 'NAME SIZE'", path, n);
        } else if (strcmp(key, "firmware") == 0) {
            l->firmware = v;
        } else if (strcmp(key, "fota_pkg") == 0) {
            l->fota_pkg = v;
        } else if (strcmp(key, "sector") == 0) {
            l->sector = v;
        } else {
            err = die(EXIT_USAGE, "%s:%d: unknown entry '%s' (firmware, fota_pkg, sector)",
                      path, n, key);
        }
    }
    fclose(f);
    if (!err && (l->sector & (l->sector - 1u) || l->sector < 4096u ||
                 l->fota_pkg % l->sector || l->firmware % l->sector)) {
        err = die(EXIT_USAGE, "%s: sizes must be multiples of a power-of-two sector >= 4096",
                  path);
    }
    return err;
}

static int read_file(const char *path, uint8_t **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return die(EXIT_INPUT, "%s: %s", path, strerror(errno));
    }
    size_t cap = 1u << 20, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        uint8_t *nb = cap < (1u << 30) ? realloc(b, cap * 2) : NULL;
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        return die(EXIT_INPUT, "%s: %s", path, b ? "read error" : "too large");
    }
    *buf = b;
    *len = n;
    return 0;
}

// Reads a key file and checks it is a P-256 private key (--sign, before any diffing).
static int read_private_key(const char *path, uint8_t **key, size_t *len) {
    int rc = read_file(path, key, len);
    if (rc) {
        return rc;
    }
    int err = qp_patch_sign_key_check(*key, *len);
    if (err == 0) {
        return 0;
    }
    free(*key);
    *key = NULL;
    return die(EXIT_INPUT, err == QP_ERR_NOTSUP
                               ? "%s: not an ECDSA P-256 key (the module checks P-256 "
                                 "signatures)"
                               : "%s: not a private key in PEM or DER (make one with adiff "
                                 "--genkey)",
               path);
}

// adiff --genkey KEY.pem: a new private key, created with mode 0600, never overwriting.
static int genkey(const char *path) {
    char pem[512];
    int err = qp_patch_sign_genkey(pem, sizeof pem);
    if (err < 0) {
        return die(EXIT_CHECK, "cannot make a key: %s", qp_strerror(err));
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t n = strlen(pem);
    int ok = fd >= 0 && write(fd, pem, n) == (ssize_t)n;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    memset(pem, 0, sizeof pem);
    return ok ? 0 : die(EXIT_OUTPUT, "%s: %s", path, strerror(e));
}

// adiff --pubkey KEY.pem [PUB.pem]: the public key, PEM, to PUB.pem or stdout.
static int pubkey(const char *key_path, const char *out_path) {
    uint8_t *key;
    size_t len;
    int rc = read_file(key_path, &key, &len);
    if (rc) {
        return rc;
    }
    char pem[256];
    int err = qp_patch_sign_pubkey(key, len, pem, sizeof pem);
    free(key);
    if (err < 0) {
        return die(EXIT_INPUT, err == QP_ERR_NOTSUP ? "%s: not an ECDSA P-256 key"
                                                    : "%s: not a key in PEM or DER",
                   key_path);
    }
    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (!f || fputs(pem, f) < 0 || (out_path ? fclose(f) : fflush(f)) != 0) {
        return die(EXIT_OUTPUT, "%s: %s", out_path ? out_path : "stdout", strerror(errno));
    }
    return 0;
}

int main(int argc, char **argv) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
#ifdef __GLIBC__
    // The differ's large buffers (suffix arrays, copies of sections, flash models) come
    // and go phase by phase. Taken from the heap, pages they touched stayed resident after
    // free() and added up across phases; mapped, they go back to the system at free()
    // (peak RSS on the libcrypto pair 24.2 -> 23.5 MB, on the default pair 6.5 -> 5.3 MB).
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
    static const struct option longopts[] = {
        {"layout", required_argument, NULL, 'L'}, {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {"sign", required_argument, NULL, 'S'},
        {"genkey", required_argument, NULL, 'G'}, {"pubkey", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    const char *where = NULL, *layout_path = NULL, *sign_path = NULL, *genkey_path = NULL,
               *pubkey_path = NULL;
    uint32_t budget = 0;
    int c;
    while ((c = getopt_long(argc, argv, "l:m:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            where = optarg;
            break;
        case 'L':
            layout_path = optarg;
            break;
        case 'm':
            if (parse_size(optarg, &budget) < 0) {
                return die(EXIT_USAGE, "-m: '%s' is not a size (e.g. 2M, 512K)", optarg);
            }
            break;
        case 'v':
            verbose = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("adiff (OpenQPY) %s\n", QP_VERSION);
            return 0;
        case 'S':
            sign_path = optarg;
            break;
        case 'G':
            genkey_path = optarg;
            break;
        case 'P':
            pubkey_path = optarg;
            break;
        default:
            fputs("Try 'adiff --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (genkey_path && !pubkey_path && optind == argc) {
        return genkey(genkey_path);
    }
    if (pubkey_path && !genkey_path && argc - optind <= 1) {
        return pubkey(pubkey_path, optind < argc ? argv[optind] : NULL);
    }
    if (genkey_path || pubkey_path) {
        fputs("Usage: adiff --genkey KEY.pem | adiff --pubkey KEY.pem [PUB.pem]\n"
              "Try 'adiff --help'.\n",
              stderr);
        return EXIT_USAGE;
    }
    if (!where) {
        return die(EXIT_USAGE, "-l fs|fp is required (where the package will be stored)");
    }
    if (strcmp(where, "fs") != 0 && strcmp(where, "fp") != 0) {
        return die(EXIT_USAGE, "-l: '%s' is neither fs nor fp", where);
    }
    if (argc - optind != 3) {
        fputs("Usage: adiff -l fs|fp [options] OLD.img NEW.img PATCH.bin\n"
              "Try 'adiff --help'.\n",
              stderr);
        return EXIT_USAGE;
    }
    progress_tty = isatty(2) && !quiet;
    layout_t lay = {4u << 20, 2u << 20, 4096u};
    if (layout_path) {
        int err = read_layout(layout_path, &lay);
        if (err) {
            return err;
        }
    }
    const char *old_path = argv[optind], *new_path = argv[optind + 1],
               *out_path = argv[optind + 2];
    uint8_t *old_img = NULL, *new_img = NULL, *key = NULL;
    size_t old_len = 0, new_len = 0, key_len = 0;
    int rc = sign_path ? read_private_key(sign_path, &key, &key_len) : 0;
    if (rc) {
        return rc;
    }
    rc = read_file(old_path, &old_img, &old_len);
    if (rc == 0) {
        rc = read_file(new_path, &new_img, &new_len);
    }
    if (rc) {
        free(old_img);
        free(key);
        return rc;
    }
    if (new_len > lay.firmware) {
        rc = die(EXIT_SPACE, "%s: %zu bytes do not fit the firmware partition (%u bytes)",
                 new_path, new_len, lay.firmware);
        goto out;
    }
    qp_fota_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.progress = on_progress;
    uint8_t *pkg = NULL;
    uint32_t psz = 0;
    qp_fota_diff_stats_t st;
    char msg[256];
    // The encoder for NEW.img's sections is a floor no patch dictionary lowers: refuse a
    // budget under it before diffing (an unparsable NEW.img is left to qp_fota_diff).
    static const char ram_msg[] =
        "the update needs at least %llu bytes of RAM on the module, over the budget of %u "
        "bytes (most of it is the LZMA encoder for NEW.img's settings: make it with a "
        "smaller dictionary, mkfw --dict)";
    qp_image_info_t *ni = malloc(sizeof *ni);
    uint64_t floor = 0;
    if (ni && qp_image_parse_header(ni, new_img, new_len, NULL) == 0) {
        for (uint32_t i = 0; i < ni->section_count; i++) {
            uint64_t enc = 0;
            if (qp_image_memusage(&ni->sections[i].params, &enc, NULL) == 0 && enc > floor) {
                floor = enc;
            }
        }
        if (!budget) {
            budget = floor + DECODE_ROOM_MIN <= DEFAULT_BUDGET ? DEFAULT_BUDGET
                                                               : (uint32_t)(floor + DECODE_ROOM);
        }
        if (floor > budget) {
            free(ni);
            rc = die(EXIT_RAM, ram_msg, (unsigned long long)floor, budget);
            goto out;
        }
    }
    free(ni);
    // With a budget, smaller patch dictionaries until the apply fits (SPEC-patch §8.5).
    // First guess: the largest patch dictionary that fits beside the encoder, counted for
    // each of the three streams, with about DECODE_REST for the rest (decoder states,
    // buffers, the old-section decoder); the measured apply decides.
    uint32_t dict = 1u << 20;
    while (budget && dict > 4096u && floor + 3u * dict + DECODE_REST > budget) {
        dict /= 2;
    }
    for (;; dict /= 2) {
        cfg.dict_max = dict;
        note("diffing (patch dictionary %u KiB)", dict >> 10);
        int err = qp_fota_diff(&cfg, old_img, old_len, new_img, new_len, &pkg, &psz, &st, msg,
                               sizeof msg);
        if (err == QP_ERR_CORRUPT || err == QP_ERR_INVAL || err == QP_ERR_NOTSUP ||
            err == QP_ERR_FBIG) {
            rc = die(EXIT_INPUT, "%s", msg[0] ? msg : qp_strerror(err));
            goto out;
        }
        if (err < 0) {
            rc = die(EXIT_CHECK, "self-check failed: %s", msg[0] ? msg : qp_strerror(err));
            goto out;
        }
        if (!budget || st.apply_ram <= budget) {
            break;
        }
        qp_diff_free(pkg);
        pkg = NULL;
        // Dictionaries above the largest the streams used change nothing: skip them; and
        // the largest dictionary must shrink by at least the excess.
        uint32_t excess = st.apply_ram - budget;
        uint32_t want = st.dict_used > excess ? st.dict_used - excess : 0;
        while (dict > 4096u && (dict / 2u >= st.dict_used || dict / 2u > want)) {
            dict /= 2;
        }
        if (dict <= 4096u) {
            rc = die(EXIT_RAM, ram_msg, (unsigned long long)st.apply_ram, budget);
            goto out;
        }
    }
    // Backup space on the target layout (SPEC-patch §8.6).
    uint32_t rec = lay.sector;
    uint64_t pkg_space = ((uint64_t)psz + lay.sector - 1u) / lay.sector * lay.sector;
    uint64_t avail;
    if (strcmp(where, "fp") == 0) {
        if (rec + pkg_space > lay.fota_pkg) {
            rc = die(EXIT_SPACE,
                     "the package (%u bytes) does not fit the fota_pkg partition (%u bytes, "
                     "%u of them for the store record)",
                     psz, lay.fota_pkg, rec);
            goto free_pkg;
        }
        avail = lay.fota_pkg - rec - pkg_space;
    } else {
        avail = lay.fota_pkg - rec;
    }
    if (st.backup_size > avail) {
        rc = die(EXIT_SPACE,
                 "not enough backup space for the old firmware: the update needs %u bytes, "
                 "the fota_pkg partition leaves %llu with -l %s",
                 st.backup_size, (unsigned long long)avail, where);
        goto free_pkg;
    }
    int err = key ? qp_patch_sign(pkg, psz, key, key_len) : 0;
    if (err < 0) {
        rc = die(EXIT_CHECK, "signing failed: %s", qp_strerror(err));
        goto free_pkg;
    }
    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(pkg, 1, psz, f) != psz || fclose(f) != 0) {
        rc = die(EXIT_OUTPUT, "%s: %s", out_path, strerror(errno));
        goto free_pkg;
    }
    if (!quiet) {
        printf("%s: %u bytes (old %zu, new %zu bytes; sections %u -> %u bytes uncompressed)\n",
               out_path, psz, old_len, new_len, st.old_space, st.new_space);
        printf("apply: %u bytes of RAM, %u bytes of backup (%llu available with -l %s)\n",
               st.apply_ram, st.backup_size, (unsigned long long)avail, where);
        printf("self-check: applied in place, identical to %s\n", new_path);
        if (key) {
            printf("signed: ECDSA P-256 with %s\n", sign_path);
        }
    }
    note("done in %.1f s", elapsed());
free_pkg:
    qp_diff_free(pkg);
out:
    free(old_img);
    free(new_img);
    if (key) {
        memset(key, 0, key_len);
        free(key);
    }
    return rc;
}
