// Unit tests for the MCU configuration of the flash library (qp_flash_nomalloc: built with
// QP_NO_MALLOC=1, strict C11, no file backend): without malloc, a handle needs caller
// buffers or an allocator, and everything else works as in the host build.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_flash.h"

#define SECTOR 4096u
#define SECTORS 64u

static uint8_t mem[SECTORS * SECTOR];
static uint32_t wear[SECTORS];

static void test_no_buffers_means_no_memory(void **state) {
    (void)state;
    qp_flash_t f;
    qp_flash_config_t cfg = {0};
    cfg.size = sizeof mem;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_NOMEM);
    cfg.wear_buffer = wear; // the contents are still missing
    assert_int_equal(qp_flash_open_ram(&f, &cfg), QP_ERR_NOMEM);
    assert_int_equal(qp_flash_close(&f), 0);
}

// A static arena allocator, as firmware might pass in the config.
static uint8_t arena[SECTORS * SECTOR + 1024];
static size_t arena_used;

static void *arena_alloc(void *ctx, size_t size) {
    (void)ctx;
    size = (size + 7u) & ~(size_t)7u;
    if (size > sizeof arena - arena_used) {
        return NULL;
    }
    void *p = arena + arena_used;
    arena_used += size;
    return p;
}

static void arena_free(void *ctx, void *ptr) {
    (void)ctx;
    (void)ptr; // released all at once by resetting arena_used
}

static void test_allocator_callback(void **state) {
    (void)state;
    qp_flash_t f;
    qp_flash_config_t cfg = {0};
    cfg.size = SECTORS * SECTOR;
    cfg.alloc = arena_alloc;
    cfg.free = arena_free;
    arena_used = 0;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    assert_true(arena_used >= SECTORS * SECTOR + SECTORS * sizeof(uint32_t));
    assert_int_equal(qp_flash_erase(&f, 0, SECTOR), 0);
    qp_flash_close(&f);
}

static void test_partitions_and_powercut_with_static_buffers(void **state) {
    (void)state;
    qp_flash_t f;
    qp_flash_config_t cfg = {0};
    cfg.size = sizeof mem;
    cfg.data_buffer = mem;
    cfg.wear_buffer = wear;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    qp_flash_ptable_t t;
    qp_flash_layout_opts_t o = {0};
    o.flash_size = sizeof mem;
    o.firmware_size = 8 * SECTOR;
    o.fota_pkg_size = 8 * SECTOR;
    o.customer_fs_size = 32 * SECTOR;
    o.customer_backup_fs_size = 4 * SECTOR;
    assert_int_equal(qp_flash_layout_ec600s(&t, &o), 0);
    assert_int_equal(qp_flash_ptable_write(&f, &t), 0);
    qp_flash_part_t p;
    assert_int_equal(qp_flash_part_open(&p, &f, &t, QP_FLASH_PART_CUSTOMER_FS), 0);
    qp_flash_bd_t bd;
    assert_int_equal(qp_flash_bd_init(&bd, &p, SECTOR), 0);
    assert_int_equal(qp_flash_bd_erase(&bd, 0), 0);
    qp_flash_powercut_arm(&f, 1, 5);
    assert_int_equal(qp_flash_bd_prog(&bd, 0, 0, "abcd", 4), QP_ERR_IO);
    qp_flash_power_restore(&f);
    qp_flash_close(&f);
    // The caller's buffers hold the flash after close: "reboot" into them with KEEP.
    cfg.flags = QP_FLASH_F_KEEP;
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    qp_flash_ptable_t back;
    assert_int_equal(qp_flash_ptable_read(&f, &back), 0);
    assert_int_equal(back.count, t.count);
    qp_flash_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_buffers_means_no_memory),
        cmocka_unit_test(test_allocator_callback),
        cmocka_unit_test(test_partitions_and_powercut_with_static_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
