// mkcorpus.c - writes the seed corpora of the fuzz targets, made with the project's own
// libraries so the seeds are real: system.img images from qp_image's builder, adiff
// packages from qp_diff against fz_make_old(), littlefs images formatted and filled by
// qp_fs on the RAM flash model, device profiles written by qp_device_save(), and REPL
// sessions as mpremote, pyboard.py and a person at a terminal send them. Nothing
// binary is committed; `make fuzz` and the replay tests run this first.
//
// Usage: fuzz_mkcorpus OUTDIR   -> OUTDIR/{image,patch,fs,device,repl}/seed-NNN
// Deterministic: the same build writes the same bytes.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "qp/qp_device.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"
#include "qp/qp_image.h"
#include "qp/qp_patch_sig.h"

static const char *outdir;

static void die(const char *what, int err) {
    fprintf(stderr, "fuzz_mkcorpus: %s: %s\n", what, qp_strerror(err));
    exit(1);
}

static void mkdir_or_die(const char *path) {
    if (mkdir(path, 0777) < 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
}

static void put(const char *target, unsigned n, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    mkdir_or_die(path);
    snprintf(path, sizeof path, "%s/%s/seed-%03u", outdir, target, n);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

// ---- image ----

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
} membuf_t;

static int mem_write(void *ctx, const void *buf, size_t len) {
    membuf_t *m = ctx;
    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        uint8_t *p = realloc(m->p, cap);
        if (!p) {
            return QP_ERR_NOMEM;
        }
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return 0;
}

static size_t make_archive(uint8_t *out, size_t cap) {
    static const char main_py[] = "import utime\nprint('hello')\n";
    static const char lib_py[] = "def f(x):\n    return x + 1\n";
    qp_image_archive_entry_t e[2] = {
        {"lib/util.py", 11, (const uint8_t *)lib_py, sizeof lib_py - 1},
        {"main.py", 7, (const uint8_t *)main_py, sizeof main_py - 1},
    };
    size_t len;
    int err = qp_image_archive_build(e, 2, out, cap, &len);
    if (err < 0) {
        die("archive", err);
    }
    return len;
}

static void image_seeds(const uint8_t *old) {
    unsigned n = 0;
    uint8_t archive[512];
    size_t alen = make_archive(archive, sizeof archive);
    put("image", n++, archive, alen); // the archive reader reads raw input too

    // {codec of section 1, codec of section 2 (0: none), with an app archive}
    static const struct {
        uint8_t c1, c2, app;
        uint32_t size;
    } kinds[] = {
        {QP_IMAGE_CODEC_LZMA, 0, 0, 4096},  {QP_IMAGE_CODEC_LZO, 0, 0, 4096},
        {QP_IMAGE_CODEC_LZMA, QP_IMAGE_CODEC_LZO, 1, 8192},
        {QP_IMAGE_CODEC_LZMA, 0, 1, 200},   {QP_IMAGE_CODEC_LZO, QP_IMAGE_CODEC_LZMA, 0, 16384},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        qp_image_builder_t b;
        qp_image_builder_init(&b);
        int err = qp_image_builder_open(&b, NULL, k % 2 ? "EC100Y" : "EC600S", "V01");
        qp_image_section_opts_t o = {0};
        o.codec = kinds[k].c1;
        o.level = 6;
        if (err == 0) {
            err = qp_image_builder_add(&b, "cp", old, kinds[k].size, &o);
        }
        if (err == 0 && kinds[k].c2) {
            o.codec = kinds[k].c2;
            o.bcj = QP_IMAGE_BCJ_NONE;
            err = qp_image_builder_add(&b, "dsp", old + 1000, 3000, &o);
        }
        if (err == 0 && kinds[k].app) {
            qp_image_section_opts_t ao = {0};
            ao.content = QP_IMAGE_CONTENT_ARCHIVE;
            err = qp_image_builder_add(&b, "app", archive, alen, &ao);
        }
        membuf_t m = {0};
        if (err == 0) {
            err = qp_image_builder_write(&b, mem_write, &m);
        }
        if (err < 0) {
            die("image", err);
        }
        put("image", n++, m.p, m.len);
        free(m.p);
        qp_image_builder_close(&b);
    }
}

// ---- patch ----

static void patch_seeds(const uint8_t *old) {
    static uint8_t new_[FZ_NEW_MAX];
    unsigned n = 0;
    for (uint32_t v = 0; v < 6; v++) {
        uint32_t new_size = v == 5 ? FZ_OLD_SIZE : fz_make_new(old, new_, v);
        if (v == 5) {
            memcpy(new_, old, FZ_OLD_SIZE); // an identity package
        }
        qp_diff_config_t c;
        memset(&c, 0, sizeof c);
        c.level = 1 + v % 6;
        c.dict_max = 64u * 1024u;
        c.filter = v; // every QP_DIFF_FILTER_*, the mapped ones too
        uint8_t *pkg;
        uint32_t len;
        int err;
        if (v == 3) { // two sections
            qp_diff_section_t s[2] = {
                {"code", 0, 12288, 0, new_size / 2},
                {"data", 12288, FZ_OLD_SIZE - 12288, new_size / 2, new_size - new_size / 2},
            };
            err = qp_diff_create(&c, old, FZ_OLD_SIZE, new_, new_size, s, 2, &pkg, &len, NULL);
        } else {
            err = qp_diff_create(&c, old, FZ_OLD_SIZE, new_, new_size, NULL, 0, &pkg, &len,
                                 NULL);
        }
        if (err < 0) {
            die("patch", err);
        }
        put("patch", n++, pkg, len);
        if (v == 0) {
            // The same package signed (SPEC-patch §3.5), with a key made here and forgotten.
            char key[512];
            if ((err = qp_patch_sign_genkey(key, sizeof key)) < 0 ||
                (err = qp_patch_sign(pkg, len, key, strlen(key))) < 0) {
                die("patch", err);
            }
            put("patch", n++, pkg, len);
        }
        qp_diff_free(pkg);
    }
}

// ---- fs ----

static void write_file(qp_fs_t *fs, const char *path, size_t len, uint8_t seed) {
    static uint8_t buf[8192];
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7);
    }
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    int err = qp_fs_file_open(fs, &f, path, QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC);
    if (err == 0) {
        err = qp_fs_file_write(fs, &f, buf, len);
    }
    int cerr = qp_fs_file_close(fs, &f);
    // The smallest geometries fill up: a seed then holds what fitted.
    if ((err < 0 && err != QP_ERR_NOSPC && err != QP_ERR_NOENT) ||
        (cerr < 0 && cerr != QP_ERR_NOSPC)) {
        die(path, err < 0 ? err : cerr);
    }
}

static void fs_seeds(void) {
    unsigned n = 0;
    for (size_t gi = 0; gi < fz_fs_ngeoms; gi++) {
        const fz_fs_geom_t *g = &fz_fs_geoms[gi];
        uint32_t size = g->block_size * g->block_count;
        for (int fill = 0; fill < 3; fill++) {
            uint8_t *in = malloc(1 + FZ_FS_OPS + size);
            if (!in) {
                die("fs", QP_ERR_NOMEM);
            }
            memset(in, 0xff, 1 + FZ_FS_OPS + size);
            in[0] = (uint8_t)gi;
            for (uint32_t i = 0; i < FZ_FS_OPS; i++) { // a script touching every opcode
                in[1 + i] = (uint8_t)(i % 3 == 0 ? i / 3 : (i * 17 + fill) & 0xff);
            }
            fz_fs_dev_t d;
            int err = fz_fs_dev_open(&d, g, in + 1 + FZ_FS_OPS);
            if (err < 0) {
                die("fs flash", err);
            }
            struct qp_fs_config cfg = d.cfg;
            qp_fs_t fs;
            memset(&fs, 0, sizeof fs);
            if (fill > 0) { // fill 0: an erased flash, for the format-and-run mode
                err = qp_fs_format(&fs, &cfg);
                if (err == 0) {
                    err = qp_fs_mount(&fs, &cfg);
                }
                if (err < 0) {
                    die("fs format", err);
                }
                write_file(&fs, "/a", 100, 1);
                if (fill == 2) {
                    if (((err = qp_fs_mkdir(&fs, "/d")) < 0 ||
                         (err = qp_fs_mkdir(&fs, "/d/e")) < 0) && err != QP_ERR_NOSPC) {
                        die("mkdir", err);
                    }
                    write_file(&fs, "/d/a", g->block_size + 10, 2);
                    write_file(&fs, "/d/e/f", 3, 3);
                    write_file(&fs, "/b", 2 * g->block_size, 4);
                    if ((err = qp_fs_rename(&fs, "/b", "/c")) < 0 && err != QP_ERR_NOENT &&
                        err != QP_ERR_NOSPC) {
                        die("rename", err);
                    }
                }
                qp_fs_unmount(&fs);
            } else {
                in[0] |= 0x80;
            }
            fz_fs_dev_close(&d);
            // Trailing erased bytes are implied by the target: leave them out.
            size_t len = 1 + FZ_FS_OPS + size;
            while (len > 1 + FZ_FS_OPS && in[len - 1] == 0xff) {
                len--;
            }
            put("fs", n++, in, len);
            free(in);
        }
    }
}

// ---- device ----

static void device_seeds(void) {
    char dir[] = "/tmp/qp-mkcorpus-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    unsigned n = 0;
    static const char *models[] = {"EC600S", "EC100Y"};
    for (int i = 0; i < 2; i++) {
        qp_device_options_t o = {0};
        o.model = models[i];
        o.fota_public_key = i ? FZ_PUBKEY_PEM : NULL;
        qp_device_profile_t p;
        char msg[256];
        int err = qp_device_profile_make(&p, &o, 1234567u + (unsigned)i, msg, sizeof msg);
        if (err == 0) {
            err = qp_device_save(dir, &p, msg, sizeof msg);
        }
        if (err < 0) {
            fprintf(stderr, "fuzz_mkcorpus: %s\n", msg);
            exit(1);
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, QP_DEVICE_PROFILE_NAME);
        FILE *f = fopen(path, "rb");
        char text[4096];
        size_t len = f ? fread(text, 1, sizeof text, f) : 0;
        if (!f || ferror(f)) {
            perror(path);
            exit(1);
        }
        fclose(f);
        unlink(path);
        put("device", n++, text, len);
    }
    rmdir(dir);
    static const char *const extra[] = {
        "{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\",\"imei\":"
        "\"868540050393723\",\"sn\":\"MPN21A0000000001\",\"fw_version\":\"V1\","
        "\"heap_size\":748032,\"extra\":[1,2.5e3,null,true,{\"k\":\"\\u00e9\"}]}",
        "{\"format\":2}",
        "[]",
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        put("device", n++, extra[i], strlen(extra[i]));
    }
}

// ---- repl ----

// Sessions as hosts send them: byte 0 configures the machine, byte 1 the piece size
// (fuzz_repl.c), then what travels on the serial line.
static void repl_seeds(void) {
    static const struct {
        const char *bytes;
        size_t len;
    } s[] = {
// (A hex escape takes every hex digit after it: "\x05" "A" keeps the A a letter.)
#define S(x) {x, sizeof x - 1}
        // mpremote: interrupt, raw mode, raw-paste request, code, end, back to friendly
        S("\x00\x3f\r\x03\x03\x01\x05" "A\x01print(1)\nimport os\x04\x02"),
        // pyboard.py's plain raw mode with a soft reset
        S("\x01\xff\x03\x01\x04x = [i for i in range(10)]\nprint(x)\x04\x02"),
        // a person at a terminal: a block, arrow keys, backspace, Ctrl-C, Ctrl-D
        S("\x00\x00for i in range(3):\r    print(i)\r\r\x1b[A\x1b[D\x08\x7f" "x\x03\x04"),
        // paste mode
        S("\x00\x07\x05" "def f():\r\n    return 1\r\nprint(f())\r\n\x04\x02"),
        // small max_code and window, failing writes, 1 KiB budget
        S("\x1e\x02\x01\x05" "A\x01" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x04\x03\x02"),
#undef S
    };
    for (unsigned i = 0; i < sizeof s / sizeof s[0]; i++) {
        put("repl", i, s[i].bytes, s[i].len);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_mkcorpus OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir_or_die(outdir);
    static uint8_t old[FZ_OLD_SIZE];
    fz_make_old(old);
    image_seeds(old);
    patch_seeds(old);
    fs_seeds();
    device_seeds();
    repl_seeds();
    return 0;
}
