// Unit tests for the block-device adapter: a partition seen as blocks through the
// littlefs-style callbacks (ctx, block, off, buf, size) that src/fs plugs into its config.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flash_test.h"

#define SECTOR 4096u

// The shape of a file system's block-device config, as src/fs declares it; repeated here
// so the test proves the adapter's functions fit such callbacks without fs headers.
typedef struct fake_fs_bd {
    void *context;
    int (*read)(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size);
    int (*prog)(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size);
    int (*erase)(void *ctx, uint32_t block);
    int (*sync)(void *ctx);
} fake_fs_bd_t;

static void test_blocks_map_onto_the_partition(void **state) {
    (void)state;
    qp_flash_t f;
    ft_open_ram(&f, 32 * SECTOR, 0);
    qp_flash_part_t p;
    assert_int_equal(qp_flash_part_init(&p, &f, 8 * SECTOR, 16 * SECTOR), 0);
    qp_flash_bd_t bd;
    assert_int_equal(qp_flash_bd_init(&bd, &p, SECTOR), 0);
    assert_int_equal(bd.block_count, 16);

    fake_fs_bd_t c = {&bd, qp_flash_bd_read, qp_flash_bd_prog, qp_flash_bd_erase,
                      qp_flash_bd_sync};
    const char msg[] = "block three";
    assert_int_equal(c.prog(c.context, 3, 100, msg, sizeof msg), 0);
    char back[sizeof msg];
    assert_int_equal(c.read(c.context, 3, 100, back, sizeof back), 0);
    assert_memory_equal(back, msg, sizeof msg);
    // Block 3 of the partition is flash sector 8 + 3.
    assert_int_equal(qp_flash_read(&f, 11 * SECTOR + 100, back, sizeof back), 0);
    assert_memory_equal(back, msg, sizeof msg);
    assert_int_equal(c.sync(c.context), 0);

    // The flash's error codes pass through unchanged.
    assert_int_equal(c.prog(c.context, 3, 100, "X", 1), QP_ERR_INVAL); // 0 -> 1
    assert_int_equal(c.erase(c.context, 3), 0);
    assert_int_equal(c.prog(c.context, 3, 100, "X", 1), 0);
    assert_int_equal(ft_wear(&f, 11), 1);

    // Nothing leaves its block or the device.
    assert_int_equal(c.read(c.context, 16, 0, back, 1), QP_ERR_RANGE);
    assert_int_equal(c.read(c.context, 0, SECTOR - 1, back, 2), QP_ERR_RANGE);
    assert_int_equal(c.prog(c.context, 2, SECTOR, msg, 1), QP_ERR_RANGE);
    assert_int_equal(c.erase(c.context, 16), QP_ERR_RANGE);
    assert_int_equal(c.read(c.context, 15, SECTOR - 1, back, 1), 0);
    qp_flash_close(&f);
}

static void test_large_blocks_and_partial_tail(void **state) {
    (void)state;
    qp_flash_t f;
    ft_open_ram(&f, 16 * SECTOR, 0);
    qp_flash_part_t p;
    assert_int_equal(qp_flash_part_init(&p, &f, 0, 11 * SECTOR), 0);
    qp_flash_bd_t bd;
    assert_int_equal(qp_flash_bd_init(&bd, &p, 1000), QP_ERR_INVAL);      // not sectors
    assert_int_equal(qp_flash_bd_init(&bd, &p, 0), QP_ERR_INVAL);
    assert_int_equal(qp_flash_bd_init(&bd, &p, 12 * SECTOR), QP_ERR_INVAL); // too big
    assert_int_equal(qp_flash_bd_init(&bd, &p, 2 * SECTOR), 0);
    assert_int_equal(bd.block_count, 5); // the eleventh sector is an unused tail
    // Erasing a two-sector block erases both sectors in one operation.
    uint8_t z[8] = {0};
    assert_int_equal(qp_flash_bd_prog(&bd, 1, 2 * SECTOR - 8, z, 8), 0);
    uint64_t ops = qp_flash_op_count(&f);
    assert_int_equal(qp_flash_bd_erase(&bd, 1), 0);
    assert_int_equal(qp_flash_op_count(&f), ops + 1);
    assert_int_equal(ft_wear(&f, 2), 1);
    assert_int_equal(ft_wear(&f, 3), 1);
    uint8_t back[8];
    assert_int_equal(qp_flash_bd_read(&bd, 1, 2 * SECTOR - 8, back, 8), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(back[i], 0xFF);
    }
    qp_flash_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_map_onto_the_partition),
        cmocka_unit_test(test_large_blocks_and_partial_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
