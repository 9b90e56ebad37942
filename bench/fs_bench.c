// fs_bench.c - file-system benchmark on the EC600S customer_fs geometry.
//
// A 5 MB partition of 4096-byte blocks (littlefs v1, read = prog = block = 4096) on the
// RAM flash model, so the figures are the file system's own cost: CPU time and the flash
// operations it issues (bytes programmed, sectors erased), not a disk's. Reports mount
// time with 500 files, sequential write and read MB/s, small-file create/append/remove
// operations per second, and per workload the bytes programmed and sectors erased per
// byte of payload (write amplification), for comparison with upstream littlefs on the
// same workload and geometry.
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

typedef struct {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
    qp_fs_t fs;
} bench_fs;

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

static void setup(bench_fs *b) {
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

// Prints the flash cost of a workload that stored `payload` bytes.
static void print_cost(const char *name, const qp_flash_stats_t *s, double payload) {
    printf("| %-34s | %12llu | %8llu | %6.2f |\n", name,
           (unsigned long long)s->prog_bytes, (unsigned long long)s->erase_sectors,
           payload > 0 ? (double)s->prog_bytes / payload : 0.0);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int rounds = quick ? 3 : 20;
    static unsigned char data[1 << 20];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (unsigned char)(i * 2654435761u >> 24);
    }
    bench_fs b;
    qp_flash_stats_t stats;
    printf("File system on the EC600S customer_fs geometry (5 MB, 4096-byte blocks, "
           "littlefs v1), RAM flash\n\n");

    // Mount time with 500 files.
    setup(&b);
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof name, "/file%03d.txt", i);
        write_file(&b, name, data, 100, 0);
    }
    double best = 1e9;
    for (int r = 0; r < rounds; r++) {
        qp_fs_unmount(&b.fs);
        double t0 = now_s();
        check(qp_fs_mount(&b.fs, &b.cfg), "mount");
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    printf("| %-34s | %12s |\n", "measure", "value");
    printf("|%s|%s|\n", "------------------------------------", "--------------");
    printf("| %-34s | %9.2f ms |\n", "mount, 500 files in one directory", best * 1000);
    teardown(&b);

    // Sequential write and read of 1 MB.
    setup(&b);
    qp_flash_stats_reset(&b.flash);
    double t0 = now_s();
    write_file(&b, "/big.bin", data, sizeof data, QP_FS_O_TRUNC);
    double write_s = now_s() - t0;
    qp_flash_stats_t write_stats;
    qp_flash_stats_get(&b.flash, &write_stats);
    qp_fs_file_t f = {0};
    static unsigned char back[1 << 20];
    t0 = now_s();
    check(qp_fs_file_open(&b.fs, &f, "/big.bin", QP_FS_O_RDONLY), "open");
    check(qp_fs_file_read(&b.fs, &f, back, sizeof back), "read");
    check(qp_fs_file_close(&b.fs, &f), "close");
    double read_s = now_s() - t0;
    if (memcmp(back, data, sizeof data) != 0) {
        fprintf(stderr, "fs_bench: read back differs\n");
        return 1;
    }
    printf("| %-34s | %8.1f MB/s |\n", "sequential write, 1 MB file", 1.0 / write_s);
    printf("| %-34s | %8.1f MB/s |\n", "sequential read, 1 MB file", 1.0 / read_s);
    teardown(&b);

    // Small files: create (64 bytes), append (64 bytes), remove; 200 of each.
    setup(&b);
    qp_flash_stats_reset(&b.flash);
    t0 = now_s();
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "/s%03d", i);
        write_file(&b, name, data, 64, 0);
    }
    double create_s = now_s() - t0;
    qp_flash_stats_t create_stats;
    qp_flash_stats_get(&b.flash, &create_stats);
    qp_flash_stats_reset(&b.flash);
    t0 = now_s();
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "/s%03d", i);
        write_file(&b, name, data, 64, QP_FS_O_APPEND);
    }
    double append_s = now_s() - t0;
    qp_flash_stats_t append_stats;
    qp_flash_stats_get(&b.flash, &append_stats);
    qp_flash_stats_reset(&b.flash);
    t0 = now_s();
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "/s%03d", i);
        check(qp_fs_remove(&b.fs, name), "remove");
    }
    double remove_s = now_s() - t0;
    qp_flash_stats_get(&b.flash, &stats);
    printf("| %-34s | %9.0f /s |\n", "create a 64-byte file", 200 / create_s);
    printf("| %-34s | %9.0f /s |\n", "append 64 bytes to a file", 200 / append_s);
    printf("| %-34s | %9.0f /s |\n", "remove a file", 200 / remove_s);
    teardown(&b);

    printf("\nFlash cost per workload (programmed bytes / payload bytes = write "
           "amplification)\n\n");
    printf("| %-34s | %12s | %8s | %6s |\n", "workload", "programmed", "erased", "amp");
    printf("|%s|%s|%s|%s|\n", "------------------------------------", "--------------",
           "----------", "--------");
    print_cost("write a 1 MB file", &write_stats, sizeof data);
    print_cost("create 200 files of 64 bytes", &create_stats, 200 * 64);
    print_cost("append 64 bytes to 200 files", &append_stats, 200 * 64);
    print_cost("remove 200 files", &stats, 0);
    return 0;
}
