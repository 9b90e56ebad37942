// stress_fs.c - power-cut campaign over random file-system workloads (make stress,
// docs/TESTING.md §4). Where tests/unit/fs/test_powerloss.c sweeps every cut point of one
// fixed workload, this draws the workloads: each run picks a geometry and on-disk version
// (littlefs v1, v2.1, v2.0), then performs random steps (whole-file writes with or without a
// sync half way, appends, overwrites, truncates, renames and removes of files and
// directories) on qp_flash's RAM NOR model while power is cut again and again at a random
// operation of the next steps, torn with a random length and bit pattern (the flash model's
// tear, from a random seed). After every cut: power back, mount, walk the whole tree and
// read every file. The tree must be the state before the interrupted step, after it, or one
// of its documented intermediates (a created file exists empty; data synced half way is
// kept); a step that returned success must be there in full. The workload then continues
// from what was found. At the end of a run everything is removed and every block must be
// free again (no leak left by the recovery).
//
// Tallies: a mount or walk failure, an error other than the cut's, an unexpected state of
// the file in flight, or a leak counts as a corrupted file system; a file the interrupted
// step did not touch that differs or is missing counts as a lost committed file.
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"
#include "stress_util.h"

#define MAXDATA 6144u
#define MAXREC 12
#define STEPS 80
#define BLOCKS 64u

// ---- The model: the expected tree as (path, type, bytes) records ----

typedef struct rec {
    char path[8];
    uint8_t dir;
    uint32_t len;
    uint8_t data[MAXDATA];
} rec_t;

typedef struct model {
    int n;
    rec_t r[MAXREC];
} model_t;

static rec_t *find(model_t *m, const char *path) {
    for (int i = 0; i < m->n; i++) {
        if (!strcmp(m->r[i].path, path)) {
            return &m->r[i];
        }
    }
    return NULL;
}

static rec_t *add(model_t *m, const char *path, int dir) {
    rec_t *r = find(m, path);
    if (!r) {
        r = &m->r[m->n++];
        snprintf(r->path, sizeof r->path, "%s", path);
    }
    r->dir = (uint8_t)dir;
    r->len = 0;
    return r;
}

static void drop(model_t *m, const char *path) {
    rec_t *r = find(m, path);
    if (r) {
        *r = m->r[--m->n];
    }
}

static bool same_rec(const rec_t *a, const rec_t *b) {
    return a && b && a->dir == b->dir && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static bool same_model(model_t *a, model_t *b) {
    if (a->n != b->n) {
        return false;
    }
    for (int i = 0; i < a->n; i++) {
        if (!same_rec(&a->r[i], find(b, a->r[i].path))) {
            return false;
        }
    }
    return true;
}

// ---- Steps ----

// The namespace: three files at the root, two directories, two file names in each.
static const char *const root_files[] = {"/a", "/b", "/c"};
static const char *const dir_names[] = {"/d", "/e"};
static const char *const leaf_names[] = {"x", "y"};

enum { WRITE, APPEND, OVERWRITE, TRUNCATE, RENAME, REMOVE, MKDIR, RMDIR, RENAME_DIR, NOPS };
static const char *const op_names[] = {"write",  "append", "overwrite", "truncate",   "rename",
                                       "remove", "mkdir",  "rmdir",     "rename-dir"};

typedef struct step {
    int op;
    char a[8], b[8];
    uint32_t off, len, sync_at; // sync_at: WRITE syncs after that many bytes (0: no sync)
    uint8_t buf[MAXDATA];
} step_t;

// A file path whose parent exists (or a root file).
static void pick_file_path(stress_rng_t *r, model_t *m, char *out) {
    uint32_t k = stress_below(r, 7);
    if (k < 3) {
        strcpy(out, root_files[k]);
        return;
    }
    const char *d = dir_names[(k - 3) / 2];
    rec_t *dr = find(m, d);
    if (!dr || !dr->dir) {
        strcpy(out, root_files[k % 3]);
        return;
    }
    snprintf(out, 8, "%s/%s", d, leaf_names[k % 2]);
}

static rec_t *pick_existing(stress_rng_t *r, model_t *m, int dir) {
    rec_t *c[MAXREC];
    int n = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->r[i].dir == dir) {
            c[n++] = &m->r[i];
        }
    }
    return n ? c[stress_below(r, (uint32_t)n)] : NULL;
}

static bool dir_empty(model_t *m, const char *d) {
    size_t n = strlen(d);
    for (int i = 0; i < m->n; i++) {
        if (!strncmp(m->r[i].path, d, n) && m->r[i].path[n] == '/') {
            return false;
        }
    }
    return true;
}

static void fill(stress_rng_t *r, uint8_t *buf, uint32_t len) {
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t x = stress_next(r);
        memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
    }
}

// A random step that is valid on `m` (falls back to a whole-file write).
static void gen_step(stress_rng_t *r, model_t *m, step_t *s) {
    memset(s, 0, offsetof(step_t, buf));
    s->op = (int)stress_below(r, NOPS + 2) % NOPS; // writes twice as likely
    rec_t *f = pick_existing(r, m, 0), *d = pick_existing(r, m, 1);
    switch (s->op) {
    case APPEND:
    case OVERWRITE:
    case TRUNCATE:
    case REMOVE:
    case RENAME:
        if (!f) {
            s->op = WRITE;
            break;
        }
        strcpy(s->a, f->path);
        if (s->op == APPEND) {
            s->len = stress_below(r, (MAXDATA - f->len) / 2 + 1);
        } else if (s->op == OVERWRITE) {
            s->off = stress_below(r, f->len + 1);
            s->len = stress_below(r, (MAXDATA - s->off) / 2 + 1);
        } else if (s->op == TRUNCATE) {
            s->len = stress_below(r, 2) ? stress_below(r, f->len + 1)
                                        : stress_below(r, MAXDATA + 1);
        } else if (s->op == RENAME) {
            pick_file_path(r, m, s->b);
            rec_t *dst = find(m, s->b);
            if (!strcmp(s->a, s->b) || (dst && dst->dir)) {
                s->op = REMOVE;
            }
        }
        break;
    case MKDIR:
        strcpy(s->a, dir_names[stress_below(r, 2)]);
        if (find(m, s->a)) {
            s->op = WRITE;
        }
        break;
    case RMDIR:
    case RENAME_DIR:
        if (!d) {
            s->op = WRITE;
            break;
        }
        strcpy(s->a, d->path);
        strcpy(s->b, strcmp(d->path, dir_names[0]) ? dir_names[0] : dir_names[1]);
        if (s->op == RMDIR && !dir_empty(m, s->a)) {
            s->op = WRITE;
        } else if (s->op == RENAME_DIR && find(m, s->b) && !dir_empty(m, s->b)) {
            s->op = WRITE;
        }
        break;
    }
    if (s->op == WRITE) {
        pick_file_path(r, m, s->a);
        // Half the files fit inline in a v2 metadata pair, half take data blocks.
        s->len = stress_below(r, 2) ? stress_below(r, 300) : stress_below(r, MAXDATA + 1);
        s->sync_at = s->len > 1 && stress_below(r, 3) == 0 ? 1 + stress_below(r, s->len - 1)
                                                            : 0;
    }
    if (s->op == WRITE || s->op == APPEND || s->op == OVERWRITE) {
        fill(r, s->buf, s->len);
    }
}

// The model after the step, or after its first `part` bytes (WRITE: the state a sync half
// way leaves, or with part 0 the created empty file).
static void apply(model_t *m, const step_t *s, int partial, uint32_t part) {
    rec_t *f = find(m, s->a);
    switch (s->op) {
    case WRITE:
        f = add(m, s->a, 0);
        f->len = partial ? part : s->len;
        memcpy(f->data, s->buf, f->len);
        break;
    case APPEND:
        memcpy(f->data + f->len, s->buf, s->len);
        f->len += s->len;
        break;
    case OVERWRITE:
        memcpy(f->data + s->off, s->buf, s->len);
        if (s->off + s->len > f->len) {
            f->len = s->off + s->len;
        }
        break;
    case TRUNCATE:
        if (s->len > f->len) {
            memset(f->data + f->len, 0, s->len - f->len);
        }
        f->len = s->len;
        break;
    case RENAME: {
        rec_t tmp = *f;
        drop(m, s->a);
        rec_t *t = add(m, s->b, 0);
        t->len = tmp.len;
        memcpy(t->data, tmp.data, tmp.len);
        break;
    }
    case REMOVE:
    case RMDIR:
        drop(m, s->a);
        break;
    case MKDIR:
        add(m, s->a, 1);
        break;
    case RENAME_DIR:
        drop(m, s->b);
        for (int i = 0; i < m->n; i++) {
            if (!strncmp(m->r[i].path, s->a, 2)) {
                m->r[i].path[1] = s->b[1];
            }
        }
        break;
    }
}

// ---- Running steps on the file system ----

static int write_all(qp_fs_t *fs, qp_fs_file_t *f, const uint8_t *buf, uint32_t len) {
    int n = qp_fs_file_write(fs, f, buf, len);
    return n < 0 ? n : (uint32_t)n == len ? 0 : QP_ERR_IO;
}

static int run_file_step(qp_fs_t *fs, const step_t *s) {
    static const int flags[] = {
        [WRITE] = QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC,
        [APPEND] = QP_FS_O_WRONLY | QP_FS_O_APPEND,
        [OVERWRITE] = QP_FS_O_RDWR,
        [TRUNCATE] = QP_FS_O_RDWR,
    };
    qp_fs_file_t f;
    int err = qp_fs_file_open(fs, &f, s->a, flags[s->op]);
    if (err < 0) {
        return err;
    }
    if (s->op == WRITE && s->sync_at) {
        err = write_all(fs, &f, s->buf, s->sync_at);
        if (err == 0) {
            err = qp_fs_file_sync(fs, &f);
        }
        if (err == 0) {
            err = write_all(fs, &f, s->buf + s->sync_at, s->len - s->sync_at);
        }
    } else if (s->op == TRUNCATE) {
        err = qp_fs_file_truncate(fs, &f, s->len);
    } else {
        int32_t at = qp_fs_file_seek(fs, &f, (int32_t)s->off, QP_FS_SEEK_SET);
        err = at < 0 ? at : write_all(fs, &f, s->buf, s->len);
    }
    int cerr = qp_fs_file_close(fs, &f);
    return err < 0 ? err : cerr;
}

static int run_step(qp_fs_t *fs, const step_t *s) {
    switch (s->op) {
    case RENAME:
    case RENAME_DIR: return qp_fs_rename(fs, s->a, s->b);
    case REMOVE:
    case RMDIR: return qp_fs_remove(fs, s->a);
    case MKDIR: return qp_fs_mkdir(fs, s->a);
    default: return run_file_step(fs, s);
    }
}

// Reads the whole tree under `dir` into `m`.
static int walk(qp_fs_t *fs, const char *dir, model_t *m) {
    qp_fs_dir_t d;
    int err = qp_fs_dir_open(fs, &d, dir);
    if (err < 0) {
        return err;
    }
    qp_fs_info_t info;
    while ((err = qp_fs_dir_read(fs, &d, &info)) > 0) {
        char path[QP_FS_NAME_MAX + 16];
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", info.name);
        if (m->n == MAXREC || strlen(path) >= sizeof m->r[0].path || info.size > MAXDATA) {
            err = QP_ERR_CORRUPT; // nothing the workload made
            break;
        }
        rec_t *r = add(m, path, info.type == QP_FS_TYPE_DIR);
        if (r->dir) {
            err = walk(fs, path, m);
        } else {
            qp_fs_file_t f;
            err = qp_fs_file_open(fs, &f, path, QP_FS_O_RDONLY);
            if (err == 0) {
                int n = qp_fs_file_read(fs, &f, r->data, MAXDATA);
                err = n < 0 ? n : (uint32_t)n != info.size ? QP_ERR_CORRUPT : 0;
                r->len = info.size;
                int cerr = qp_fs_file_close(fs, &f);
                err = err < 0 ? err : cerr;
            }
        }
        if (err < 0) {
            break;
        }
    }
    qp_fs_dir_close(fs, &d);
    return err;
}

// Removes everything (files before their directories).
static int remove_all(qp_fs_t *fs, model_t *m) {
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < m->n; i++) {
            if (m->r[i].dir == pass) {
                int err = qp_fs_remove(fs, m->r[i].path);
                if (err < 0) {
                    return err;
                }
            }
        }
    }
    m->n = 0;
    return 0;
}

// ---- One run ----

typedef struct geom {
    uint32_t read, prog, cache, lookahead;
} geom_t;

// The EC600S's 4096/4096/4096 first; small program units tear metadata commits in many
// more places.
static const geom_t geoms[] = {
    {4096, 4096, 4096, 16}, {16, 16, 16, 4}, {16, 16, 512, 16}, {256, 256, 256, 8},
};
static const uint32_t versions[] = {QP_FS_DISK_VERSION_LFS1, QP_FS_DISK_VERSION_LFS2,
                                    QP_FS_DISK_VERSION_LFS2_0};

typedef struct dev {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
    qp_fs_t fs;
} sdev_t;

static int dev_open(sdev_t *d, const geom_t *g, uint32_t version) {
    memset(d, 0, sizeof *d);
    qp_flash_config_t fc = {.size = BLOCKS * 4096u};
    int err = qp_flash_open_ram(&d->flash, &fc);
    if (err == 0) {
        err = qp_flash_part_init(&d->part, &d->flash, 0, fc.size);
    }
    if (err == 0) {
        err = qp_flash_bd_init(&d->bd, &d->part, 4096u);
    }
    d->cfg.context = &d->bd;
    d->cfg.read = qp_flash_bd_read;
    d->cfg.prog = qp_flash_bd_prog;
    d->cfg.erase = qp_flash_bd_erase;
    d->cfg.sync = qp_flash_bd_sync;
    d->cfg.read_size = g->read;
    d->cfg.prog_size = g->prog;
    d->cfg.block_size = 4096u;
    d->cfg.block_count = BLOCKS;
    d->cfg.cache_size = g->cache;
    d->cfg.lookahead_size = g->lookahead;
    d->cfg.disk_version = version;
    if (err == 0) {
        err = qp_fs_format(&d->fs, &d->cfg);
    }
    return err == 0 ? qp_fs_mount(&d->fs, &d->cfg) : err;
}

static model_t cur, after, mid, empty_mid, found;
static long cuts_by_op[NOPS], cuts_by_version[3]; // where the cuts landed (coverage)

// One line per record: path, size and the first bytes (a failure report's detail).
static void print_model(const char *what, const model_t *m) {
    printf("  %s:", what);
    for (int i = 0; i < m->n; i++) {
        const rec_t *r = &m->r[i];
        if (r->dir) {
            printf(" %s/", r->path);
        } else {
            printf(" %s[%u:%02x%02x]", r->path, r->len, r->len ? r->data[0] : 0,
                   r->len > 1 ? r->data[1] : 0);
        }
    }
    printf("\n");
}

// After a cut in step `s` (which returned `ret`): is the tree one the step may leave?
// Updates the tallies and `cur` to what was found.
static bool check_after_cut(sdev_t *d, const stress_opts_t *o, long run, const step_t *s,
                            int ret, stress_tally_t *t) {
    qp_fs_unmount(&d->fs);
    qp_flash_power_restore(&d->flash);
    int err = qp_fs_mount(&d->fs, &d->cfg);
    const char *what = "mount";
    found.n = 0;
    if (err == 0) {
        what = "walk";
        err = walk(&d->fs, "/", &found);
    }
    if (err < 0) {
        t->corrupted++;
        stress_fail(o, run, "after a cut in %s %s: %s: %s", op_names[s->op], s->a, what,
                    qp_strerror(err));
        return false;
    }
    // Allowed: after; unless the step reported success, also before and the intermediates.
    model_t *ok[4] = {&after};
    int nok = 1;
    if (ret < 0) {
        ok[nok++] = &cur;
        if (s->op == WRITE && !find(&cur, s->a)) {
            ok[nok++] = &empty_mid;
        }
        if (s->op == WRITE && s->sync_at) {
            ok[nok++] = &mid;
        }
    }
    for (int i = 0; i < nok; i++) {
        if (same_model(&found, ok[i])) {
            cur = found;
            return true;
        }
    }
    // Files every allowed state agrees on were committed before the step and untouched by it.
    long lost = 0;
    for (int i = 0; i < ok[0]->n; i++) {
        rec_t *r = &ok[0]->r[i];
        bool committed = true;
        for (int j = 1; j < nok; j++) {
            committed = committed && same_rec(r, find(ok[j], r->path));
        }
        if (committed && !same_rec(r, find(&found, r->path))) {
            lost++;
            stress_fail(o, run, "after a cut in %s %s %s (returned %d): committed %s %s",
                        op_names[s->op], s->a, s->b, ret, r->path,
                        find(&found, r->path) ? "differs" : "is missing");
        }
    }
    printf("  geometry %u/%u cache %u, disk version %#x\n", d->cfg.read_size, d->cfg.prog_size,
           d->cfg.cache_size, d->cfg.disk_version);
    print_model("before", &cur);
    print_model("after", &after);
    print_model("found", &found);
    if (lost) {
        t->lost += lost;
    } else {
        t->corrupted++;
        stress_fail(o, run, "after a cut in %s %s %s (returned %d): the tree is neither the "
                    "state before nor after the step", op_names[s->op], s->a, s->b, ret);
    }
    return false;
}

static void one_run(const stress_opts_t *o, long run, stress_tally_t *t, void *ctx) {
    (void)ctx;
    stress_rng_t r = {stress_run_seed(o->seed, run)};
    const geom_t *g = &geoms[stress_below(&r, sizeof geoms / sizeof geoms[0])];
    uint32_t version = versions[stress_below(&r, 3)];
    sdev_t d;
    int err = dev_open(&d, g, version);
    if (err < 0) {
        t->corrupted++;
        stress_fail(o, run, "format/mount: %s", qp_strerror(err));
        qp_flash_close(&d.flash);
        return;
    }
    cur.n = 0;
    double ops_per_step = 8.0; // running estimate: cuts land within the next two steps
    qp_flash_powercut_arm(&d.flash, 1 + stress_below(&r, 16), stress_next(&r));
    bool ok = true;
    static step_t s;
    for (int i = 0; i < STEPS && ok; i++) {
        gen_step(&r, &cur, &s);
        after = cur;
        apply(&after, &s, 0, 0);
        if (s.op == WRITE) {
            mid = cur;
            apply(&mid, &s, 1, s.sync_at);
            empty_mid = cur;
            apply(&empty_mid, &s, 1, 0);
        }
        uint64_t ops0 = qp_flash_op_count(&d.flash);
        int ret = run_step(&d.fs, &s);
        if (qp_flash_is_powered(&d.flash)) {
            if (ret < 0) {
                t->corrupted++;
                stress_fail(o, run, "%s %s %s: %s", op_names[s.op], s.a, s.b, qp_strerror(ret));
                ok = false;
            }
            cur = after;
            ops_per_step = 0.8 * ops_per_step
                         + 0.2 * (double)(qp_flash_op_count(&d.flash) - ops0);
            continue;
        }
        t->cuts++;
        cuts_by_op[s.op]++;
        cuts_by_version[version == QP_FS_DISK_VERSION_LFS1   ? 0
                        : version == QP_FS_DISK_VERSION_LFS2 ? 1
                                                             : 2]++;
        ok = check_after_cut(&d, o, run, &s, ret, t);
        qp_flash_powercut_arm(&d.flash, 1 + stress_below(&r, (uint32_t)(2 * ops_per_step) + 1),
                              stress_next(&r));
    }
    qp_flash_powercut_arm(&d.flash, 0, 0);
    if (ok) {
        // Every block must come back once everything is removed.
        int empty_blocks = version == QP_FS_DISK_VERSION_LFS1 ? 4 : 2;
        err = remove_all(&d.fs, &cur);
        int used = err < 0 ? err : qp_fs_size(&d.fs);
        if (used != empty_blocks) {
            t->corrupted++;
            stress_fail(o, run, "everything removed: %d blocks in use (%s), expected %d", used,
                        used < 0 ? qp_strerror(used) : "leak", empty_blocks);
        }
    }
    qp_fs_unmount(&d.fs);
    qp_flash_close(&d.flash);
    t->runs++;
}

int main(int argc, char **argv) {
    stress_opts_t o;
    int status = stress_parse(argc, argv, &o, 6000);
    if (status) {
        return status;
    }
    stress_tally_t t = {0};
    status = stress_runs(&o, "fs", one_run, NULL, &t);
    printf("  cuts by step:");
    for (int i = 0; i < NOPS; i++) {
        printf(" %s %ld", op_names[i], cuts_by_op[i]);
    }
    printf("\n  cuts by disk version: v1 %ld, v2.1 %ld, v2.0 %ld\n", cuts_by_version[0],
           cuts_by_version[1], cuts_by_version[2]);
    return status;
}
