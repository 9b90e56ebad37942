// Unit tests for the NOR flash model on the RAM backend: erase/program/read semantics, the
// 1 -> 0 rule, page boundaries, wear counters, statistics, allocation and argument checks.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flash_test.h"

#define SECTOR 4096u
#define PAGE 256u
#define SIZE (8u * SECTOR)

static void open_small(qp_flash_t *f, uint32_t flags) {
    ft_open_ram(f, SIZE, flags);
}

static int all_equal(const uint8_t *p, size_t n, uint8_t v) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v) {
            return 0;
        }
    }
    return 1;
}

static void test_defaults_and_fresh_flash_is_erased(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    assert_int_equal(f.sector_size, QP_FLASH_DEFAULT_SECTOR_SIZE);
    assert_int_equal(f.page_size, QP_FLASH_DEFAULT_PAGE_SIZE);
    assert_int_equal(f.sector_count, 8);
    static uint8_t buf[SIZE];
    assert_int_equal(qp_flash_read(&f, 0, buf, SIZE), 0);
    assert_true(all_equal(buf, SIZE, 0xFF));
    assert_int_equal(qp_flash_close(&f), 0);
    assert_int_equal(qp_flash_close(&f), 0); // closing twice is harmless
}

static void test_program_clears_bits_only(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    uint8_t a = 0xF0, b = 0x30, out = 0;
    assert_int_equal(qp_flash_program(&f, 10, &a, 1), 0);
    assert_int_equal(qp_flash_program(&f, 10, &b, 1), 0); // 0xF0 -> 0x30 clears bits only
    assert_int_equal(qp_flash_read(&f, 10, &out, 1), 0);
    assert_int_equal(out, 0x30);
    // 0xFF over 0x30 would not read back as written: refused like any 0 -> 1 request,
    // although silicon would leave the byte as it is (QP_FLASH_F_PROG_AND allows that).
    uint8_t ff = 0xFF;
    assert_int_equal(qp_flash_program(&f, 10, &ff, 1), QP_ERR_INVAL);
    assert_int_equal(qp_flash_read(&f, 10, &out, 1), 0);
    assert_int_equal(out, 0x30);
    qp_flash_close(&f);
}

static void test_zero_to_one_is_refused_and_changes_nothing(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    uint8_t data[600];
    memset(data, 0x00, sizeof data);
    assert_int_equal(qp_flash_program(&f, 1000, data, 1), 0); // byte 1000 is now 0x00
    memset(data, 0xAA, sizeof data);
    // 600 bytes from 500: byte 1000 (index 500) would need bits set back to 1.
    assert_int_equal(qp_flash_program(&f, 500, data, sizeof data), QP_ERR_INVAL);
    uint8_t back[600];
    assert_int_equal(qp_flash_read(&f, 500, back, sizeof back), 0);
    assert_true(all_equal(back, 500, 0xFF)); // the refusal came before any byte changed
    assert_int_equal(back[500], 0x00);
    assert_true(all_equal(back + 501, 99, 0xFF));
    qp_flash_stats_t st;
    qp_flash_stats_get(&f, &st);
    assert_int_equal(st.prog_violations, 1);
    assert_int_equal(st.last_violation_addr, 1000);
    assert_int_equal(st.prog_ops, 1); // the refused call is not a program
    assert_int_equal(qp_flash_op_count(&f), 1);
    qp_flash_close(&f);
}

static void test_prog_and_flag_behaves_like_silicon(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, QP_FLASH_F_PROG_AND);
    uint8_t a = 0x0F, b = 0xF3, out = 0;
    assert_int_equal(qp_flash_program(&f, 0, &a, 1), 0);
    assert_int_equal(qp_flash_program(&f, 0, &b, 1), 0);
    assert_int_equal(qp_flash_read(&f, 0, &out, 1), 0);
    assert_int_equal(out, 0x03);
    qp_flash_stats_t st;
    qp_flash_stats_get(&f, &st);
    assert_int_equal(st.prog_violations, 1);
    qp_flash_close(&f);
}

static void test_erase_sets_sector_to_ff(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    static uint8_t zeros[2 * SECTOR], back[3 * SECTOR];
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(qp_flash_program(&f, SECTOR, zeros, sizeof zeros), 0);
    assert_int_equal(qp_flash_erase(&f, SECTOR, SECTOR), 0);
    assert_int_equal(qp_flash_read(&f, 0, back, sizeof back), 0);
    assert_true(all_equal(back, 2 * SECTOR, 0xFF));
    assert_true(all_equal(back + 2 * SECTOR, SECTOR, 0x00)); // the next sector is untouched
    // After the erase the bytes can be programmed again.
    uint8_t v = 0x5A;
    assert_int_equal(qp_flash_program(&f, SECTOR + 7, &v, 1), 0);
    qp_flash_close(&f);
}

static void test_erase_alignment_and_bounds(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    assert_int_equal(qp_flash_erase(&f, 1, SECTOR), QP_ERR_INVAL);
    assert_int_equal(qp_flash_erase(&f, 0, SECTOR - 1), QP_ERR_INVAL);
    assert_int_equal(qp_flash_erase(&f, SIZE, SECTOR), QP_ERR_RANGE);
    assert_int_equal(qp_flash_erase(&f, SIZE - SECTOR, 2 * SECTOR), QP_ERR_RANGE);
    assert_int_equal(qp_flash_erase(&f, 0, 0), 0);
    uint8_t b[4] = {0};
    assert_int_equal(qp_flash_read(&f, SIZE - 2, b, 4), QP_ERR_RANGE);
    assert_int_equal(qp_flash_program(&f, SIZE - 2, b, 4), QP_ERR_RANGE);
    assert_int_equal(qp_flash_read(&f, UINT32_MAX, b, 2), QP_ERR_RANGE); // no wrap-around
    assert_int_equal(qp_flash_read(&f, 0, NULL, 4), QP_ERR_INVAL);
    assert_int_equal(qp_flash_op_count(&f), 0);
    qp_flash_close(&f);
}

static void test_page_boundaries(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    uint8_t d[PAGE + 2];
    memset(d, 0x11, sizeof d);
    // Crossing two page boundaries: split into three page programs.
    assert_int_equal(qp_flash_program(&f, PAGE - 1, d, sizeof d), 0);
    qp_flash_stats_t st;
    qp_flash_stats_get(&f, &st);
    assert_int_equal(st.prog_ops, 1);
    assert_int_equal(st.prog_pages, 3);
    assert_int_equal(st.prog_bytes, PAGE + 2);
    uint8_t back[PAGE + 4];
    assert_int_equal(qp_flash_read(&f, PAGE - 2, back, sizeof back), 0);
    assert_int_equal(back[0], 0xFF);
    assert_true(all_equal(back + 1, PAGE + 2, 0x11));
    assert_int_equal(back[PAGE + 3], 0xFF);
    qp_flash_close(&f);

    // Strict pages: a program must stay inside one page, as on a raw chip.
    open_small(&f, QP_FLASH_F_STRICT_PAGES);
    assert_int_equal(qp_flash_program(&f, PAGE - 1, d, 2), QP_ERR_INVAL);
    assert_int_equal(qp_flash_program(&f, PAGE, d, PAGE), 0);
    assert_int_equal(qp_flash_program(&f, 2 * PAGE + 3, d, PAGE - 3), 0);
    assert_int_equal(qp_flash_program(&f, 0, d, PAGE + 1), QP_ERR_INVAL);
    qp_flash_close(&f);
}

static void test_wear_counters(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(qp_flash_erase(&f, 2 * SECTOR, SECTOR), 0);
    }
    assert_int_equal(qp_flash_erase(&f, 0, 4 * SECTOR), 0); // sectors 0..3 once each
    assert_int_equal(ft_wear(&f, 2), 6);
    assert_int_equal(ft_wear(&f, 0), 1);
    assert_int_equal(ft_wear(&f, 7), 0);
    uint32_t w = 0;
    assert_int_equal(qp_flash_wear(&f, 8, &w), QP_ERR_RANGE);
    uint32_t lo = 99, hi = 0;
    uint64_t total = 0;
    qp_flash_wear_summary(&f, &lo, &hi, &total);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 6);
    assert_int_equal(total, 9);
    qp_flash_close(&f);
}

static void test_stats_and_reset(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, 0);
    uint8_t b[100];
    memset(b, 0, sizeof b);
    assert_int_equal(qp_flash_read(&f, 0, b, 10), 0);
    assert_int_equal(qp_flash_read(&f, 0, b, 30), 0);
    assert_int_equal(qp_flash_program(&f, 0, b, 100), 0);
    assert_int_equal(qp_flash_program(&f, 0, b, 0), 0); // empty: not counted
    assert_int_equal(qp_flash_erase(&f, 0, 2 * SECTOR), 0);
    qp_flash_stats_t st;
    qp_flash_stats_get(&f, &st);
    assert_int_equal(st.read_ops, 2);
    assert_int_equal(st.read_bytes, 40);
    assert_int_equal(st.prog_ops, 1);
    assert_int_equal(st.prog_bytes, 100);
    assert_int_equal(st.prog_pages, 1);
    assert_int_equal(st.erase_ops, 1);
    assert_int_equal(st.erase_sectors, 2);
    assert_int_equal(qp_flash_op_count(&f), 2);
    qp_flash_stats_reset(&f);
    qp_flash_stats_get(&f, &st);
    assert_int_equal(st.read_ops + st.prog_ops + st.erase_ops, 0);
    assert_int_equal(qp_flash_op_count(&f), 2); // the op counter is not a statistic
    qp_flash_close(&f);
}

static void test_bad_geometry(void **state) {
    (void)state;
    qp_flash_t f;
    qp_flash_init(&f);
    qp_flash_config_t cfg = {0};
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_INVAL); // size 0
    cfg.size = SECTOR + 1;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_INVAL);
    cfg.size = 4 * 3000;
    cfg.sector_size = 3000;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_INVAL);
    cfg.size = 4 * 1024;
    cfg.sector_size = 1024;
    cfg.page_size = 2048;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_INVAL);
    cfg.page_size = 0; // default 256
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    assert_int_equal(f.page_size, 256);
    qp_flash_close(&f);
    // A small sector takes the sector as its page size by default.
    cfg.sector_size = 64;
    cfg.size = 640;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    assert_int_equal(f.page_size, 64);
    qp_flash_close(&f);
    // Operations on a closed handle are refused, not crashes.
    uint8_t b = 0;
    assert_int_equal(qp_flash_read(&f, 0, &b, 1), QP_ERR_INVAL);
    assert_int_equal(qp_flash_erase(&f, 0, 64), QP_ERR_INVAL);
}

// An allocator that counts and can be told to fail, for the ownership rules.
typedef struct counting_alloc {
    int live;
    int fail_after; // allocations that succeed before one fails; -1: never fail
} counting_alloc_t;

static void *ca_alloc(void *ctx, size_t size) {
    counting_alloc_t *ca = ctx;
    if (ca->fail_after == 0) {
        return NULL;
    }
    if (ca->fail_after > 0) {
        ca->fail_after--;
    }
    ca->live++;
    return malloc(size);
}

static void ca_free(void *ctx, void *ptr) {
    counting_alloc_t *ca = ctx;
    ca->live--;
    free(ptr);
}

static void test_allocator_and_caller_buffers(void **state) {
    (void)state;
    counting_alloc_t ca = {0, -1};
    qp_flash_config_t cfg = {0};
    cfg.size = SIZE;
    cfg.alloc = ca_alloc;
    cfg.free = ca_free;
    cfg.alloc_ctx = &ca;
    qp_flash_t f;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    assert_int_equal(ca.live, 2); // contents and wear counters
    qp_flash_close(&f);
    assert_int_equal(ca.live, 0);

    // Each allocation failing in turn leaves nothing allocated and the handle closed.
    for (int k = 0; k < 2; k++) {
        ca.fail_after = k;
        assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_NOMEM);
        assert_int_equal(ca.live, 0);
        assert_int_equal(qp_flash_close(&f), 0);
    }

    // Caller buffers: nothing is allocated; KEEP preserves what is in them.
    static uint8_t mem[SIZE];
    static uint32_t wear[SIZE / SECTOR];
    ca.fail_after = 0; // any allocation would fail
    cfg.data_buffer = mem;
    cfg.wear_buffer = wear;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    uint8_t v = 0x42;
    assert_int_equal(qp_flash_program(&f, 5, &v, 1), 0);
    assert_int_equal(qp_flash_erase(&f, SECTOR, SECTOR), 0);
    qp_flash_close(&f);
    assert_int_equal(mem[5], 0x42);
    assert_int_equal(wear[1], 1);
    cfg.flags = QP_FLASH_F_KEEP;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    assert_int_equal(ft_wear(&f, 1), 1);
    uint8_t out = 0;
    assert_int_equal(qp_flash_read(&f, 5, &out, 1), 0);
    assert_int_equal(out, 0x42);
    qp_flash_close(&f);
    cfg.flags = 0; // without KEEP a caller buffer starts erased
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    assert_int_equal(qp_flash_read(&f, 5, &out, 1), 0);
    assert_int_equal(out, 0xFF);
    qp_flash_close(&f);
    assert_int_equal(ca.live, 0);

    // Half an allocator is a configuration error.
    cfg.free = NULL;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_INVAL);
}

static void test_read_only(void **state) {
    (void)state;
    qp_flash_t f;
    open_small(&f, QP_FLASH_F_RDONLY);
    uint8_t b = 0;
    assert_int_equal(qp_flash_program(&f, 0, &b, 1), QP_ERR_ROFS);
    assert_int_equal(qp_flash_erase(&f, 0, SECTOR), QP_ERR_ROFS);
    assert_int_equal(qp_flash_read(&f, 0, &b, 1), 0);
    qp_flash_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_fresh_flash_is_erased),
        cmocka_unit_test(test_program_clears_bits_only),
        cmocka_unit_test(test_zero_to_one_is_refused_and_changes_nothing),
        cmocka_unit_test(test_prog_and_flag_behaves_like_silicon),
        cmocka_unit_test(test_erase_sets_sector_to_ff),
        cmocka_unit_test(test_erase_alignment_and_bounds),
        cmocka_unit_test(test_page_boundaries),
        cmocka_unit_test(test_wear_counters),
        cmocka_unit_test(test_stats_and_reset),
        cmocka_unit_test(test_bad_geometry),
        cmocka_unit_test(test_allocator_and_caller_buffers),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
