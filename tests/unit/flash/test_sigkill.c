// Unit test for the file backend's durability promise (SPEC-partitions §4.3): a process
// killed with SIGKILL while programming and erasing flash.img loses at most the operation
// in flight. A child runs a fixed sequence of erases and programs, reporting each completed
// operation through a pipe; the parent kills it with SIGKILL at some point, reopens the
// image and checks that every reported operation is there (erase counters included), that
// at most the one after it is partly done, and that nothing later has started.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flash_test.h"

#define SECTOR 4096u
#define SECTORS 128u
#define SIZE (SECTORS * SECTOR)
#define REC 64u
#define RECS_PER_SECTOR (SECTOR / REC)
#define OPS_PER_SECTOR (1 + RECS_PER_SECTOR)
#define NOPS (SECTORS * OPS_PER_SECTOR)

// Operation j: an erase of sector j / OPS_PER_SECTOR, or a program of one record in it.
static int op_is_erase(uint32_t j) {
    return j % OPS_PER_SECTOR == 0;
}

static uint32_t op_sector(uint32_t j) {
    return j / OPS_PER_SECTOR;
}

static uint32_t op_addr(uint32_t j) {
    return op_sector(j) * SECTOR + (j % OPS_PER_SECTOR - 1) * REC;
}

static void record(uint32_t j, uint8_t *buf) {
    for (uint32_t i = 0; i < REC; i++) {
        buf[i] = (uint8_t)(j * 7u + i * 13u + 1u);
    }
    buf[0] &= 0xFE; // never 0xFF throughout, so "not started" is distinguishable
}

// The child: runs the sequence and reports each completed op; never returns.
static void child(const char *path, int wfd) {
    qp_flash_t f;
    if (qp_flash_file_open(&f, path, NULL) < 0) {
        _exit(2);
    }
    uint8_t buf[REC];
    for (uint32_t j = 0; j < NOPS; j++) {
        int err;
        if (op_is_erase(j)) {
            err = qp_flash_erase(&f, op_sector(j) * SECTOR, SECTOR);
        } else {
            record(j, buf);
            err = qp_flash_program(&f, op_addr(j), buf, REC);
        }
        if (err < 0 || write(wfd, &j, sizeof j) != (ssize_t)sizeof j) {
            _exit(3);
        }
    }
    for (;;) {
        pause(); // wait to be killed, like a module that has finished its work
    }
}

typedef enum { OP_DONE, OP_NOT_STARTED, OP_TORN } op_state_t;

static op_state_t state_of(qp_flash_t *f, uint32_t j) {
    if (op_is_erase(j)) {
        // Done: counted once, and no record slot still holds the 0x00 pre-fill (a record
        // is never all zero). Not started: not counted, every slot still pre-filled.
        uint32_t w = ft_wear(f, op_sector(j));
        uint32_t prefilled = 0;
        for (uint32_t r = 0; r < RECS_PER_SECTOR; r++) {
            uint8_t got[REC];
            assert_int_equal(qp_flash_read(f, op_sector(j) * SECTOR + r * REC, got, REC), 0);
            int all_zero = 1;
            for (uint32_t i = 0; i < REC; i++) {
                all_zero &= got[i] == 0x00;
            }
            prefilled += (uint32_t)all_zero;
        }
        if (w == 0 && prefilled == RECS_PER_SECTOR) {
            return OP_NOT_STARTED;
        }
        return w == 1 && prefilled == 0 ? OP_DONE : OP_TORN;
    }
    uint8_t want[REC], got[REC];
    record(j, want);
    assert_int_equal(qp_flash_read(f, op_addr(j), got, REC), 0);
    if (memcmp(got, want, REC) == 0) {
        return OP_DONE;
    }
    int all_ff = 1, all_zero = 1;
    for (uint32_t i = 0; i < REC; i++) {
        all_ff &= got[i] == 0xFF;
        all_zero &= got[i] == 0x00;
    }
    // Not started: still erased (its sector's erase is done) or still the pre-fill (its
    // sector's erase has not happened yet).
    return all_ff || all_zero ? OP_NOT_STARTED : OP_TORN;
}

static void one_run(const char *path, uint32_t kill_after) {
    // A fresh image, pre-filled with 0x00 so that erases are visible.
    unlink(path);
    qp_flash_t f;
    qp_flash_config_t cfg = {0};
    cfg.size = SIZE;
    assert_int_equal(qp_flash_file_create(&f, path, &cfg), 0);
    static uint8_t zero[SECTOR];
    memset(zero, 0, sizeof zero);
    for (uint32_t s = 0; s < SECTORS; s++) {
        assert_int_equal(qp_flash_program(&f, s * SECTOR, zero, SECTOR), 0);
    }
    assert_int_equal(qp_flash_close(&f), 0);

    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child(path, p[1]);
    }
    close(p[1]);
    int64_t last = -1;
    uint32_t j;
    while ((uint64_t)(last + 1) < kill_after && read(p[0], &j, sizeof j) == (ssize_t)sizeof j) {
        last = j;
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Reports already in the pipe are operations the child had completed.
    while (read(p[0], &j, sizeof j) == (ssize_t)sizeof j) {
        last = j;
    }
    close(p[0]);

    // The image opens cleanly (the header was never at risk) and the lock died with the
    // child.
    assert_int_equal(qp_flash_file_open(&f, path, NULL), 0);
    uint32_t torn = 0;
    for (uint32_t op = 0; op < NOPS; op++) {
        op_state_t st = state_of(&f, op);
        if ((int64_t)op <= last) {
            assert_int_equal(st, OP_DONE);
        } else if ((int64_t)op == last + 1) {
            torn += st == OP_TORN; // the one in flight: anything goes
        } else {
            assert_int_equal(st, OP_NOT_STARTED);
        }
    }
    assert_true(torn <= 1);
    assert_int_equal(qp_flash_close(&f), 0);
}

static void test_sigkill_loses_at_most_the_op_in_flight(void **state) {
    (void)state;
    ft_tmp_t tmp;
    ft_tmp_make(&tmp);
    // Several kill points, from early on to well into the sequence.
    static const uint32_t kill_after[] = {1, 50, 400, 1500, 4000};
    for (size_t i = 0; i < sizeof kill_after / sizeof kill_after[0]; i++) {
        one_run(tmp.path, kill_after[i]);
    }
    ft_tmp_remove(&tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_loses_at_most_the_op_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
