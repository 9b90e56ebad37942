// fs_bench.c - file-system benchmark on the EC600S customer_fs geometry, littlefs v1 and v2
// side by side.
//
// A 5 MB partition of 4096-byte blocks (read = prog = block = 4096, as the module has it) on
// the RAM flash model, so the figures are the file system's own cost: CPU time and the flash
// operations it issues (bytes programmed, sectors erased), not a disk's. For each on-disk
// version (v1.1, and v2.1 from the same library) it reports mount time with 500 files,
// sequential write and read MB/s, small-file create/append/remove operations per second, and
// per workload the bytes programmed and sectors erased (write amplification = programmed
// bytes per payload byte), so the README can say which format to choose.
//
// Usage: fs_bench [--quick]
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 4096u
#define PART_SIZE 5242880u
#define NVERSIONS 2

typedef struct {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
    qp_fs_t fs;
} bench_fs;

// One version's figures.
typedef struct {
    double mount_ms;
    double write_mbs, read_mbs;
    double create_ops, append_ops, remove_ops;
    qp_flash_stats_t cost[4]; // write 1 MB, create, append, remove
} results_t;

static const char *const cost_names[4] = {
    "write a 1 MB file",
    "create 200 files of 64 bytes",
    "append 64 bytes to 200 files",
    "remove 200 files",
};
static const double cost_payload[4] = {1 << 20, 200 * 64, 200 * 64, 0};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int err, const char *what) {
    if (err < 0) {
        fprintf(stderr, "fs_bench: %s failed: %d\n", what, err);
        exit(1);
    }
}

static void setup(bench_fs *b, uint32_t version) {
    memset(b, 0, sizeof *b);
    qp_flash_init(&b->flash);
    check(qp_flash_open_ram(&b->flash, &(qp_flash_config_t){.size = PART_SIZE}), "flash");
    check(qp_flash_part_init(&b->part, &b->flash, 0, PART_SIZE), "part");
    check(qp_flash_bd_init(&b->bd, &b->part, BLOCK), "bd");
    struct qp_fs_config *c = &b->cfg;
    c->context = &b->bd;
    c->read = qp_flash_bd_read;
    c->prog = qp_flash_bd_prog;
    c->erase = qp_flash_bd_erase;
    c->sync = qp_flash_bd_sync;
    c->read_size = c->prog_size = c->block_size = c->cache_size = BLOCK;
    c->block_count = PART_SIZE / BLOCK;
    c->disk_version = version;
    check(qp_fs_format(&b->fs, c), "format");
    check(qp_fs_mount(&b->fs, c), "mount");
}

static void teardown(bench_fs *b) {
    qp_fs_unmount(&b->fs);
    qp_flash_close(&b->flash);
}

static void write_file(bench_fs *b, const char *path, const void *data, size_t len,
                       int flags) {
    qp_fs_file_t f = {0};
    check(qp_fs_file_open(&b->fs, &f, path, QP_FS_O_WRONLY | QP_FS_O_CREAT | flags), path);
    check(qp_fs_file_write(&b->fs, &f, data, len), "write");
    check(qp_fs_file_close(&b->fs, &f), "close");
}

static void run(uint32_t version, int rounds, const unsigned char *data, size_t size,
                results_t *r) {
    bench_fs b;

    // Mount time with 500 files.
    setup(&b, version);
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof name, "/file%03d.txt", i);
        write_file(&b, name, data, 100, 0);
    }
    double best = 1e9;
    for (int k = 0; k < rounds; k++) {
        qp_fs_unmount(&b.fs);
        double t0 = now_s();
        check(qp_fs_mount(&b.fs, &b.cfg), "mount");
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    r->mount_ms = best * 1000;
    teardown(&b);

    // Sequential write and read of 1 MB: the best of a few rounds (the machine may be busy);
    // the flash cost is the first write's, on an empty file system.
    setup(&b, version);
    double write_s = 1e9, read_s = 1e9;
    static unsigned char back[1 << 20];
    for (int k = 0; k < (rounds < 5 ? rounds : 5); k++) {
        qp_flash_stats_reset(&b.flash);
        double t0 = now_s();
        write_file(&b, "/big.bin", data, size, QP_FS_O_TRUNC);
        double t = now_s() - t0;
        write_s = t < write_s ? t : write_s;
        if (k == 0) {
            qp_flash_stats_get(&b.flash, &r->cost[0]);
        }
        qp_fs_file_t f = {0};
        t0 = now_s();
        check(qp_fs_file_open(&b.fs, &f, "/big.bin", QP_FS_O_RDONLY), "open");
        check(qp_fs_file_read(&b.fs, &f, back, size), "read");
        check(qp_fs_file_close(&b.fs, &f), "close");
        t = now_s() - t0;
        read_s = t < read_s ? t : read_s;
        if (memcmp(back, data, size) != 0) {
            fprintf(stderr, "fs_bench: read back differs\n");
            exit(1);
        }
    }
    r->write_mbs = (double)size / (1 << 20) / write_s;
    r->read_mbs = (double)size / (1 << 20) / read_s;
    teardown(&b);

    // Small files: create (64 bytes), append (64 bytes), remove; 200 of each.
    setup(&b, version);
    double *ops[3] = {&r->create_ops, &r->append_ops, &r->remove_ops};
    for (int phase = 0; phase < 3; phase++) {
        qp_flash_stats_reset(&b.flash);
        double t0 = now_s();
        for (int i = 0; i < 200; i++) {
            char name[32];
            snprintf(name, sizeof name, "/s%03d", i);
            if (phase < 2) {
                write_file(&b, name, data, 64, phase ? QP_FS_O_APPEND : 0);
            } else {
                check(qp_fs_remove(&b.fs, name), "remove");
            }
        }
        *ops[phase] = 200 / (now_s() - t0);
        qp_flash_stats_get(&b.flash, &r->cost[1 + phase]);
    }
    teardown(&b);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int rounds = quick ? 3 : 20;
    static unsigned char data[1 << 20];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (unsigned char)(i * 2654435761u >> 24);
    }
    static const uint32_t versions[NVERSIONS] = {QP_FS_DISK_VERSION_LFS1,
                                                 QP_FS_DISK_VERSION_LFS2};
    static results_t r[NVERSIONS];
    for (int v = 0; v < NVERSIONS; v++) {
        run(versions[v], rounds, data, sizeof data, &r[v]);
    }

    printf("File system on the EC600S customer_fs geometry (5 MB, 4096-byte blocks), RAM "
           "flash: littlefs v1.1 and v2.1\n\n");
    printf("| %-34s | %14s | %14s |\n", "measure", "littlefs v1", "littlefs v2");
    printf("|%s|%s|%s|\n", "------------------------------------", "----------------",
           "----------------");
    printf("| %-34s | %11.2f ms | %11.2f ms |\n", "mount, 500 files in one directory",
           r[0].mount_ms, r[1].mount_ms);
    printf("| %-34s | %9.1f MB/s | %9.1f MB/s |\n", "sequential write, 1 MB file",
           r[0].write_mbs, r[1].write_mbs);
    printf("| %-34s | %9.1f MB/s | %9.1f MB/s |\n", "sequential read, 1 MB file", r[0].read_mbs,
           r[1].read_mbs);
    printf("| %-34s | %11.0f /s | %11.0f /s |\n", "create a 64-byte file", r[0].create_ops,
           r[1].create_ops);
    printf("| %-34s | %11.0f /s | %11.0f /s |\n", "append 64 bytes to a file", r[0].append_ops,
           r[1].append_ops);
    printf("| %-34s | %11.0f /s | %11.0f /s |\n", "remove a file", r[0].remove_ops,
           r[1].remove_ops);

    printf("\nFlash cost per workload: bytes programmed, sectors erased, and write "
           "amplification (programmed bytes / payload bytes)\n\n");
    printf("| %-30s | %12s | %7s | %6s | %12s | %7s | %6s |\n", "workload", "v1 programmed",
           "erased", "amp", "v2 programmed", "erased", "amp");
    printf("|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------", "--------------",
           "---------", "--------", "--------------", "---------", "--------");
    for (int w = 0; w < 4; w++) {
        printf("| %-30s |", cost_names[w]);
        for (int v = 0; v < NVERSIONS; v++) {
            const qp_flash_stats_t *s = &r[v].cost[w];
            printf(" %12llu | %7llu | %6.2f |", (unsigned long long)s->prog_bytes,
                   (unsigned long long)s->erase_sectors,
                   cost_payload[w] > 0 ? (double)s->prog_bytes / cost_payload[w] : 0.0);
        }
        printf("\n");
    }
    return 0;
}
