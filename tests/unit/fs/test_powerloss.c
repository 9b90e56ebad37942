// Power-loss sweep: a workload of creates, appends, overwrites, renames (files and
// directories, replacing) and removes runs on qp_flash's RAM NOR model with power cut at
// the k-th program or erase, for every k = 1..N (the op being torn as on real NOR). After
// each cut the flash is powered up again and we check that the FS mounts; that the whole
// tree equals the state before or after the interrupted step (or, for a step that creates
// a file, the documented intermediate: the file exists and is empty); that the first write
// (which runs the deorphan pass) changes nothing visible; and that removing everything
// gives back every block (no space leaks). QP_STRESS=1 adds geometries and seeds. A second,
// short workload renames empty files beside other empty files (a littlefs v1 trap); a third
// makes littlefs v2 expand its superblock (SPEC-fs §9.7) and is cut throughout.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_testutil.h"

enum { W_CREATE, W_APPEND, W_AT, MKDIR, RENAME, REMOVE };

typedef struct step {
    int op;
    const char *a, *b;
    uint32_t off, len, seed;
} step_t;

typedef struct workload {
    const step_t *steps;
    size_t n;
} workload_t;

static const step_t mixed_steps[] = {
    {W_CREATE, "/a", NULL, 0, 100, 1},
    {MKDIR, "/d", NULL, 0, 0, 0},
    {W_APPEND, "/a", NULL, 0, 5000, 2},
    {W_CREATE, "/d/b", NULL, 0, 3000, 3},
    {W_AT, "/a", NULL, 50, 4200, 4},
    {RENAME, "/d/b", "/c", 0, 0, 0},
    {RENAME, "/a", "/d/a", 0, 0, 0},
    {W_CREATE, "/c", NULL, 0, 200, 5},
    {MKDIR, "/d/e", NULL, 0, 0, 0},
    {W_CREATE, "/d/e/x", NULL, 0, 10, 6},
    {RENAME, "/d/e", "/f", 0, 0, 0},
    {REMOVE, "/c", NULL, 0, 0, 0},
    {MKDIR, "/g", NULL, 0, 0, 0},
    {RENAME, "/f/x", "/d/x", 0, 0, 0},
    {RENAME, "/f", "/g", 0, 0, 0},
    {W_CREATE, "/d/big", NULL, 0, 9000, 7},
    {RENAME, "/d/a", "/d/big", 0, 0, 0},
    {REMOVE, "/g", NULL, 0, 0, 0},
    {W_AT, "/d/big", NULL, 9100, 10, 8},
};
static const workload_t mixed = {mixed_steps, sizeof mixed_steps / sizeof mixed_steps[0]};

// Renames of empty files while other empty files exist: across directories, onto a file
// with data, onto another empty file. In littlefs v1 every empty file's entry holds the same
// data (no head, size 0), so a cut after the source was flagged as moved used to make the
// next mount take any other empty file for the destination and drop the source (found by
// the power-cut campaign, tests/stress/stress_fs.c).
static const step_t empty_steps[] = {
    {W_CREATE, "/a", NULL, 0, 0, 1},
    {W_CREATE, "/b", NULL, 0, 0, 2},
    {MKDIR, "/d", NULL, 0, 0, 0},
    {RENAME, "/b", "/d/b", 0, 0, 0},
    {W_CREATE, "/c", NULL, 0, 100, 3},
    {RENAME, "/a", "/c", 0, 0, 0},
    {W_CREATE, "/d/x", NULL, 0, 0, 4},
    {RENAME, "/d/x", "/d/b", 0, 0, 0},
    {RENAME, "/d/b", "/e", 0, 0, 0},
};
static const workload_t empty_renames = {empty_steps,
                                         sizeof empty_steps / sizeof empty_steps[0]};

// Commits to the root, a rename through a subdirectory and a replacing rename: with
// block_cycles 3 on the EC600S geometry (every commit compacts) littlefs v2 expands its
// superblock during it, so some cut points fall inside the expanding commit.
static const step_t root_steps[] = {
    {W_CREATE, "/a", NULL, 0, 10, 1},
    {W_CREATE, "/b", NULL, 0, 10, 2},
    {MKDIR, "/d", NULL, 0, 0, 0},
    {W_CREATE, "/a", NULL, 0, 20, 3},
    {RENAME, "/b", "/d/b", 0, 0, 0},
    {W_CREATE, "/c", NULL, 0, 5000, 4},
    {W_AT, "/a", NULL, 5, 8, 5},
    {RENAME, "/c", "/a", 0, 0, 0},
    {REMOVE, "/d/b", NULL, 0, 0, 0},
};
static const workload_t root_churn = {root_steps, sizeof root_steps / sizeof root_steps[0]};

// ---- The model: the expected tree as (path, type, bytes) records ----

#define MAXREC 16
typedef struct rec {
    char path[32];
    int dir;
    uint8_t data[12000];
    uint32_t len;
} rec_t;
typedef struct model {
    rec_t r[MAXREC];
    int n;
} model_t;

static rec_t *find_rec(model_t *m, const char *path) {
    for (int i = 0; i < m->n; i++) {
        if (!strcmp(m->r[i].path, path)) {
            return &m->r[i];
        }
    }
    return NULL;
}

static void drop_rec(model_t *m, rec_t *r) {
    *r = m->r[--m->n];
}

static rec_t *add_rec(model_t *m, const char *path, int dir) {
    assert_true(m->n < MAXREC);
    rec_t *r = &m->r[m->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->dir = dir;
    return r;
}

// Applies step s to m; *mid gets the intermediate state a cut may leave (or a copy of the
// state before when there is none).
static void model_apply(model_t *m, const step_t *s, model_t *mid) {
    *mid = *m;
    rec_t *r = find_rec(m, s->a);
    uint8_t pat[12000];
    fill_pattern(pat, s->len, s->seed);
    switch (s->op) {
    case W_CREATE:
        if (!r) {
            r = add_rec(m, s->a, 0);
            add_rec(mid, s->a, 0); // created empty, data not yet committed
        }
        memcpy(r->data, pat, s->len);
        r->len = s->len;
        break;
    case W_APPEND:
        memcpy(r->data + r->len, pat, s->len);
        r->len += s->len;
        break;
    case W_AT:
        if (s->off > r->len) {
            memset(r->data + r->len, 0, s->off - r->len);
        }
        memcpy(r->data + s->off, pat, s->len);
        if (s->off + s->len > r->len) {
            r->len = s->off + s->len;
        }
        break;
    case MKDIR:
        add_rec(m, s->a, 1);
        break;
    case REMOVE:
        drop_rec(m, r);
        break;
    case RENAME: {
        rec_t *dst = find_rec(m, s->b);
        if (dst) {
            drop_rec(m, dst);
        }
        size_t la = strlen(s->a);
        for (int i = 0; i < m->n; i++) {
            char *p = m->r[i].path;
            if (!strncmp(p, s->a, la) && (p[la] == 0 || p[la] == '/')) {
                char tmp[32];
                snprintf(tmp, sizeof(tmp), "%s%s", s->b, p + la);
                strcpy(p, tmp);
            }
        }
        break;
    }
    }
}

static int run_step(qp_fs_t *fs, const step_t *s) {
    uint8_t pat[12000];
    fill_pattern(pat, s->len, s->seed);
    qp_fs_file_t f;
    int err;
    switch (s->op) {
    case W_CREATE:
    case W_APPEND:
    case W_AT: {
        int flags = s->op == W_CREATE   ? QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC
                    : s->op == W_APPEND ? QP_FS_O_WRONLY | QP_FS_O_APPEND
                                        : QP_FS_O_RDWR;
        err = qp_fs_file_open(fs, &f, s->a, flags);
        if (err < 0) {
            return err;
        }
        if (s->op == W_AT) {
            int32_t r = qp_fs_file_seek(fs, &f, (int32_t)s->off, QP_FS_SEEK_SET);
            err = r < 0 ? r : 0;
        }
        if (err == 0) {
            int r = qp_fs_file_write(fs, &f, pat, s->len);
            err = r < 0 ? r : 0;
        }
        int cerr = qp_fs_file_close(fs, &f);
        return err < 0 ? err : cerr;
    }
    case MKDIR:
        return qp_fs_mkdir(fs, s->a);
    case RENAME:
        return qp_fs_rename(fs, s->a, s->b);
    default:
        return qp_fs_remove(fs, s->a);
    }
}

// Reads the whole tree into a model.
static int scan(qp_fs_t *fs, const char *path, model_t *out) {
    qp_fs_dir_t dir;
    int err = qp_fs_dir_open(fs, &dir, path);
    if (err < 0) {
        return err;
    }
    qp_fs_info_t info;
    char names[MAXREC][12];
    int types[MAXREC], n = 0;
    while ((err = qp_fs_dir_read(fs, &dir, &info)) == 1) {
        if (n == MAXREC || strlen(info.name) > 8) {
            err = QP_ERR_RANGE;
            break;
        }
        strcpy(names[n], info.name);
        types[n++] = info.type;
    }
    qp_fs_dir_close(fs, &dir);
    for (int i = 0; i < n && err == 0; i++) {
        if (out->n == MAXREC) {
            return QP_ERR_RANGE;
        }
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", strcmp(path, "/") ? path : "", names[i]);
        if (strlen(p) >= sizeof(out->r[0].path)) {
            return QP_ERR_RANGE;
        }
        rec_t *r = add_rec(out, p, types[i] == QP_FS_TYPE_DIR);
        if (r->dir) {
            err = scan(fs, p, out);
            continue;
        }
        qp_fs_file_t f;
        err = qp_fs_file_open(fs, &f, p, QP_FS_O_RDONLY);
        if (err < 0) {
            return err;
        }
        int got = qp_fs_file_read(fs, &f, r->data, sizeof(r->data));
        qp_fs_file_close(fs, &f);
        if (got < 0) {
            return got;
        }
        r->len = (uint32_t)got;
    }
    return err < 0 ? err : 0;
}

static bool same_tree(const model_t *a, model_t *b) {
    if (a->n != b->n) {
        return false;
    }
    for (int i = 0; i < a->n; i++) {
        rec_t *r = find_rec(b, a->r[i].path);
        if (!r || r->dir != a->r[i].dir || r->len != a->r[i].len ||
            memcmp(r->data, a->r[i].data, r->len) != 0) {
            return false;
        }
    }
    return true;
}

static int remove_tree(qp_fs_t *fs, model_t *m) {
    // Deepest paths first: longer paths cannot be parents of shorter ones.
    for (int len = 31; len > 0; len--) {
        for (int i = 0; i < m->n; i++) {
            if ((int)strlen(m->r[i].path) == len) {
                int err = qp_fs_remove(fs, m->r[i].path);
                if (err < 0) {
                    return err;
                }
            }
        }
    }
    return 0;
}

// One cut at operation k. Returns the number of the step it interrupted (w->n: none);
// *sb_pairs gets the superblock-only pairs of the image after the remount (v2, else 0).
static size_t cut_once(const workload_t *w, const fs_geom_t *g, int32_t cycles, uint64_t k,
                       uint64_t seed, model_t *states, int *sb_pairs) {
    tdev_t d;
    qp_fs_t fs;
    tdev_open(&d, g, 32);
    d.cfg.block_cycles = cycles;
    tdev_format_mount(&d, &fs);
    qp_flash_powercut_arm(&d.flash, k, seed);
    size_t s = 0;
    for (; s < w->n; s++) {
        if (run_step(&fs, &w->steps[s]) < 0) {
            break;
        }
    }
    qp_fs_unmount(&fs); // no sync: the power is gone
    qp_flash_power_restore(&d.flash);

    int err = qp_fs_mount(&fs, &d.cfg);
    if (err < 0) {
        print_error("%s: cut at op %llu (step %zu): mount failed %d\n", g->name,
                    (unsigned long long)k, s, err);
        fail();
    }
    *sb_pairs = fs_is_v2() ? lfs2_superblock_pairs(&d, NULL) : 0;
    static model_t seen, seen2;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(scan(&fs, "/", &seen), 0);
    // states[3*s] before step s, [3*s+1] its intermediate, [3*s+2] after it.
    size_t which = 3;
    for (size_t j = 0; j < 3 && s < w->n; j++) {
        if (same_tree(&states[3 * s + j], &seen)) {
            which = j;
        }
    }
    if (s == w->n) {
        which = same_tree(&states[3 * w->n], &seen) ? 2 : 3;
    }
    if (which == 3) {
        print_error("%s: cut at op %llu (step %zu): tree is neither old nor new\n", g->name,
                    (unsigned long long)k, s);
        for (int i = 0; i < seen.n; i++) {
            print_error("  seen %s dir=%d len=%u\n", seen.r[i].path, seen.r[i].dir,
                        seen.r[i].len);
        }
        for (size_t j = 0; j < 3 && s < w->n; j++) {
            for (int i = 0; i < states[3 * s + j].n; i++) {
                print_error("  state%zu %s len=%u\n", j, states[3 * s + j].r[i].path,
                            states[3 * s + j].r[i].len);
            }
        }
        fail();
    }
    // The first write runs the deorphan pass: it must not change what is visible.
    assert_int_equal(qp_fs_mkdir(&fs, "/tmp"), 0);
    assert_int_equal(qp_fs_remove(&fs, "/tmp"), 0);
    memset(&seen2, 0, sizeof(seen2));
    assert_int_equal(scan(&fs, "/", &seen2), 0);
    if (!same_tree(&seen, &seen2)) {
        print_error("%s: cut at op %llu (step %zu): the first write changed the tree\n",
                    g->name, (unsigned long long)k, s);
        for (int i = 0; i < seen2.n; i++) {
            print_error("  now %s dir=%d len=%u\n", seen2.r[i].path, seen2.r[i].dir,
                        seen2.r[i].len);
        }
        fail();
    }
    // No leak: with everything removed only the superblock and root pairs are in use (v2:
    // the superblock pair holding the root, or after expansions the chain of superblock
    // pairs ending at the root, counted on the image).
    err = remove_tree(&fs, &seen);
    if (err < 0) {
        print_error("%s: cut at op %llu (step %zu): removing the tree failed %d\n", g->name,
                    (unsigned long long)k, s, err);
        fail();
    }
    assert_int_equal(qp_fs_size(&fs), fs_empty_blocks_of(&d));
    write_pattern(&fs, "/after", 5000, 99);
    check_pattern(&fs, "/after", 5000, 99);
    qp_fs_unmount(&fs);
    tdev_close(&d);
    return s;
}

// Cuts at every operation of the workload, with `seeds` tear patterns each. Returns a mask
// of the superblock-only pair counts met after the cuts (bit k: k pairs).
static unsigned sweep(const workload_t *w, const fs_geom_t *g, int32_t cycles,
                      uint64_t seeds) {
    // Expected states: before, intermediate and after every step.
    model_t *states = calloc(3 * w->n + 1, sizeof(model_t));
    assert_non_null(states);
    model_t cur = {0};
    for (size_t s = 0; s < w->n; s++) {
        states[3 * s] = cur;
        model_apply(&cur, &w->steps[s], &states[3 * s + 1]);
        states[3 * s + 2] = cur;
    }
    states[3 * w->n] = cur;

    // Learn N, the programs and erases the workload takes, from a run without a cut.
    tdev_t d;
    qp_fs_t fs;
    tdev_open(&d, g, 32);
    d.cfg.block_cycles = cycles;
    tdev_format_mount(&d, &fs);
    uint64_t start = qp_flash_op_count(&d.flash);
    for (size_t s = 0; s < w->n; s++) {
        assert_int_equal(run_step(&fs, &w->steps[s]), 0);
    }
    uint64_t n = qp_flash_op_count(&d.flash) - start;
    static model_t seen;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(scan(&fs, "/", &seen), 0);
    assert_true(same_tree(&cur, &seen));
    qp_fs_unmount(&fs);
    tdev_close(&d);

    unsigned sb_seen = 0;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        for (uint64_t k = 1; k <= n; k++) {
            int sb_pairs;
            cut_once(w, g, cycles, k, seed * 7919 + k, states, &sb_pairs);
            sb_seen |= 1u << (sb_pairs < 31 ? sb_pairs : 31);
        }
    }
    print_message("%s, block_cycles %d: %llu cut points x %llu seeds\n", g->name, (int)cycles,
                  (unsigned long long)n, (unsigned long long)seeds);
    free(states);
    return sb_seen;
}

static bool stress(void) {
    const char *e = getenv("QP_STRESS");
    return e && *e && strcmp(e, "0") != 0;
}

static void test_powerloss_ec600s(void **state) {
    (void)state;
    sweep(&mixed, &fs_geoms[0], 0, stress() ? 8 : 1);
}

static void test_powerloss_empty_renames(void **state) {
    (void)state;
    sweep(&empty_renames, &fs_geoms[0], 0, stress() ? 8 : 2);
    sweep(&empty_renames, &fs_geoms[3], 0, stress() ? 4 : 1);
}

static void test_powerloss_relocating(void **state) {
    // block_cycles 3 moves metadata pairs every few commits: the relocation path (parent
    // entry, then predecessor tail, repaired by deorphan when cut between) under cuts.
    (void)state;
    sweep(&mixed, &fs_geoms[0], 3, stress() ? 8 : 1);
    sweep(&mixed, &fs_geoms[3], 2, stress() ? 4 : 1);
}

static void test_powerloss_expansion(void **state) {
    // Some cuts leave the superblock unexpanded, the others expanded once: every cut point of
    // the expanding commit (the new pair written, then {0, 1} compacted with its tail to it)
    // is among them, each mounting to the state before or after its step.
    (void)state;
    unsigned seen = sweep(&root_churn, &fs_geoms[0], 3, stress() ? 8 : 2);
    assert_int_equal(seen, fs_is_v2() ? 3u : 1u);
}

static void test_powerloss_small_units(void **state) {
    // 16/16 with a 16-byte cache tears ~1900 different programs; it runs under QP_STRESS.
    (void)state;
    for (size_t g = 1; g < fs_ngeoms; g++) {
        if (g == 1 && !stress()) {
            continue;
        }
        sweep(&mixed, &fs_geoms[g], 0, stress() ? 4 : 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powerloss_ec600s),
        cmocka_unit_test(test_powerloss_small_units),
        cmocka_unit_test(test_powerloss_relocating),
        cmocka_unit_test(test_powerloss_empty_renames),
        cmocka_unit_test(test_powerloss_expansion),
    };
    return FS_RUN_TESTS(tests);
}
