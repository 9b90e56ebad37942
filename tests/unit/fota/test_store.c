// test_store.c - the fota module's package store and the boot-time upgrade (qp_fota_store.c,
// SPEC-patch §8.6) on a RAM flash with the EC600S partition layout, shrunk: the store record
// (magic, size, CRC) and its pending mark, a record that fails its CRC or was torn by a power
// cut is not pending (the firmware is never touched), a cut at any operation of verify() leaves
// the old or the new firmware after the next boot, a boot cut while applying resumes, a
// refused package is cleared without touching the firmware, and with a public key only
// packages signed with it are accepted (SPEC-patch §3.5), at verify() and at boot.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lzma.h>

#include "fota_testutil.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fota.h"
#include "qp/qp_fota_store.h"
#include "qp/qp_patch_sig.h"

#define SECTOR 4096u
#define REC_PENDING 64u

typedef struct dev {
    qp_flash_t flash;
    qp_flash_ptable_t table;
    qp_flash_part_t fw, pkg;
} sdev_t;

static img_t old_img, new_img;
static uint8_t *pkg;
static uint32_t pkg_size;

static int setup(void **state) {
    (void)state;
    old_img = make_image("V1.0", 16 * 1024, 0, 10, 0);
    new_img = make_image("V2.0-NEW", 18 * 1024, 3, 30, 1);
    char msg[200];
    qp_fota_diff_stats_t st;
    int err = qp_fota_diff(NULL, old_img.p, old_img.len, new_img.p, new_img.len, &pkg,
                           &pkg_size, &st, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "qp_fota_diff: %d %s\n", err, msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(old_img.p);
    free(new_img.p);
    qp_diff_free(pkg);
    return 0;
}

// A 1 MiB flash: ptable, firmware 256 KiB holding `installed`, fota_pkg 256 KiB, small file
// system partitions.
static void dev_open(sdev_t *d, const img_t *installed) {
    qp_flash_layout_opts_t o;
    memset(&o, 0, sizeof o);
    o.flash_size = 1u << 20;
    o.firmware_size = 256u << 10;
    o.fota_pkg_size = 256u << 10;
    o.customer_fs_size = 64u << 10;
    o.customer_backup_fs_size = 64u << 10;
    assert_int_equal(qp_flash_layout_ec600s(&d->table, &o), 0);
    qp_flash_config_t c;
    memset(&c, 0, sizeof c);
    c.size = o.flash_size;
    qp_flash_init(&d->flash);
    assert_int_equal(qp_flash_open_ram(&d->flash, &c), 0);
    assert_int_equal(qp_flash_ptable_write(&d->flash, &d->table), 0);
    assert_int_equal(qp_flash_part_open(&d->fw, &d->flash, &d->table, QP_FLASH_PART_FIRMWARE),
                     0);
    assert_int_equal(qp_flash_part_open(&d->pkg, &d->flash, &d->table, QP_FLASH_PART_FOTA_PKG),
                     0);
    assert_int_equal(qp_flash_part_program(&d->fw, 0, installed->p, (uint32_t)installed->len),
                     0);
}

static void assert_holds(sdev_t *d, const img_t *im) {
    uint8_t *buf = malloc(d->fw.size);
    assert_non_null(buf);
    assert_int_equal(qp_flash_part_read(&d->fw, 0, buf, d->fw.size), 0);
    assert_memory_equal(buf, im->p, im->len);
    for (size_t i = im->len; i < d->fw.size; i++) {
        if (buf[i] != 0xFF) {
            fail_msg("byte %zu past the image is 0x%02x", i, buf[i]);
        }
    }
    free(buf);
}

// Writes the whole package in 1 KiB chunks, as fota_file.py does.
static void store_package(sdev_t *d, qp_fota_store_t *s, const uint8_t *p, uint32_t size) {
    assert_int_equal(qp_fota_store_open(s, &d->flash, &d->table), 0);
    char msg[160];
    for (uint32_t off = 0; off < size; off += 1024u) {
        uint32_t n = size - off < 1024u ? size - off : 1024u;
        int err = qp_fota_store_write(s, p + off, n, size, msg, sizeof msg);
        if (err) {
            fail_msg("write at %u: %d %s", off, err, msg);
        }
    }
}

static uint32_t le32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int boot(sdev_t *d) {
    char msg[200];
    return qp_fota_boot(&d->flash, &d->table, msg, sizeof msg);
}

// The record (SPEC-patch §8.6) is written by verify() only, then the pending mark; the boot
// applies the package, then erases the record: a second boot has nothing to do.
static void test_record_and_boot(void **state) {
    (void)state;
    sdev_t d;
    dev_open(&d, &old_img);
    qp_fota_store_t s;
    store_package(&d, &s, pkg, pkg_size);
    uint8_t rec[REC_PENDING + 1];
    assert_int_equal(qp_flash_part_read(&d.pkg, 0, rec, sizeof rec), 0);
    for (size_t i = 0; i < sizeof rec; i++) {
        assert_int_equal(rec[i], 0xFF); // nothing pending before verify()
    }
    assert_int_equal(boot(&d), 0);
    char msg[200];
    assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
    assert_int_equal(qp_flash_part_read(&d.pkg, 0, rec, sizeof rec), 0);
    assert_memory_equal(rec, "QPFOTAPK", 8);
    assert_int_equal(le32(rec + 8), pkg_size);
    assert_int_equal(le32(rec + 12), lzma_crc32(rec, 12, 0));
    assert_int_equal(rec[REC_PENDING], 0);
    uint8_t stored[64];
    assert_int_equal(qp_flash_part_read(&d.pkg, SECTOR, stored, sizeof stored), 0);
    assert_memory_equal(stored, pkg, sizeof stored);
    assert_int_equal(boot(&d), 1);
    assert_holds(&d, &new_img);
    assert_int_equal(qp_flash_part_read(&d.pkg, 0, rec, sizeof rec), 0);
    assert_int_equal(rec[0], 0xFF);
    assert_int_equal(rec[REC_PENDING], 0xFF);
    assert_int_equal(boot(&d), 0);
    assert_holds(&d, &new_img);
    qp_flash_close(&d.flash);
}

// A record whose CRC does not match (here: one bit of the size cleared), or without the
// pending mark, is not pending: the boot does nothing and the firmware stays.
static void test_record_crc_and_pending_mark(void **state) {
    (void)state;
    for (int c = 0; c < 3; c++) {
        sdev_t d;
        dev_open(&d, &old_img);
        qp_fota_store_t s;
        store_package(&d, &s, pkg, pkg_size);
        if (c < 2) {
            char msg[200];
            assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
        }
        if (c == 0) {
            // The size's lowest set bit cleared (programming can only clear bits).
            uint32_t at = 8, v = pkg_size;
            while ((v & 0xFFu) == 0) {
                v >>= 8;
                at++;
            }
            uint8_t b = (uint8_t)((v & 0xFFu) & ((v & 0xFFu) - 1u));
            assert_int_equal(qp_flash_part_program(&d.pkg, at, &b, 1), 0);
        } else if (c == 1) {
            uint8_t crc0 = 0;
            assert_int_equal(qp_flash_part_program(&d.pkg, 12, &crc0, 1), 0);
        } else {
            // A complete, CRC-correct record but no pending mark (a cut between the two).
            uint8_t rec[16];
            memcpy(rec, "QPFOTAPK", 8);
            rec[8] = (uint8_t)pkg_size;
            rec[9] = (uint8_t)(pkg_size >> 8);
            rec[10] = (uint8_t)(pkg_size >> 16);
            rec[11] = (uint8_t)(pkg_size >> 24);
            uint32_t crc = lzma_crc32(rec, 12, 0);
            for (int i = 0; i < 4; i++) {
                rec[12 + i] = (uint8_t)(crc >> (8 * i));
            }
            assert_int_equal(qp_flash_part_program(&d.pkg, 0, rec, sizeof rec), 0);
        }
        uint64_t ops = qp_flash_op_count(&d.flash);
        assert_int_equal(boot(&d), 0);
        if (qp_flash_op_count(&d.flash) != ops) {
            fail_msg("case %d: the boot wrote the flash", c);
        }
        assert_holds(&d, &old_img);
        qp_flash_close(&d.flash);
    }
}

// A power cut at every flash operation of verify() (record, then pending mark), each with
// several tear patterns: the next boot leaves the old firmware (not pending: a torn record
// fails its CRC) or the new one (pending), never anything else, and a second boot changes
// nothing.
static void test_verify_powercut(void **state) {
    (void)state;
    int saw_old = 0, saw_new = 0;
    for (uint64_t k = 1; k <= 2; k++) {
        for (uint64_t seed = 1; seed <= 12; seed++) {
            sdev_t d;
            dev_open(&d, &old_img);
            qp_fota_store_t s;
            store_package(&d, &s, pkg, pkg_size);
            qp_flash_powercut_arm(&d.flash, k, seed * 7919u);
            char msg[200];
            assert_int_not_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
            qp_flash_power_restore(&d.flash);
            int r = boot(&d);
            assert_true(r == 0 || r == 1);
            if (r == 0) {
                assert_holds(&d, &old_img);
                saw_old++;
            } else {
                assert_holds(&d, &new_img);
                saw_new++;
            }
            assert_int_equal(boot(&d), 0);
            qp_flash_close(&d.flash);
        }
    }
    // A cut in the record program is never pending; one in the mark's may be either.
    assert_true(saw_old >= 12);
    printf("# verify cut: %d boots kept the old firmware, %d upgraded\n", saw_old, saw_new);
}

// A power cut during the boot-time apply: it stays pending and the next boot finishes.
static void test_boot_powercut(void **state) {
    (void)state;
    sdev_t d;
    dev_open(&d, &old_img);
    qp_fota_store_t s;
    store_package(&d, &s, pkg, pkg_size);
    char msg[200];
    assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
    uint64_t before = qp_flash_op_count(&d.flash);
    assert_int_equal(boot(&d), 1);
    uint64_t n = qp_flash_op_count(&d.flash) - before;
    qp_flash_close(&d.flash);
    // Every 5th operation and the last five (clearing the store) by default; QP_STRESS=1:
    // every operation.
    uint64_t stride = getenv("QP_STRESS") ? 1u : 5u;
    for (uint64_t k = 1; k <= n; k++) {
        if ((k - 1u) % stride != 0 && k + 5u <= n) {
            continue;
        }
        dev_open(&d, &old_img);
        store_package(&d, &s, pkg, pkg_size);
        assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
        qp_flash_powercut_arm(&d.flash, k, k);
        int r = boot(&d);
        qp_flash_power_restore(&d.flash);
        if (r < 0) {
            assert_int_equal(r, QP_ERR_IO);
            r = boot(&d);
        }
        if (r != 1) {
            // The cut hit the final clearing of the store: the firmware is already new.
            assert_int_equal(r, 0);
        }
        assert_holds(&d, &new_img);
        assert_int_equal(boot(&d), 0);
        qp_flash_close(&d.flash);
    }
    printf("# boot cut: %llu flash operations, stride %llu and the last five\n",
           (unsigned long long)n, (unsigned long long)stride);
}

// A package for another firmware is refused by verify() (nothing pending); one that gets
// pending anyway (the installed firmware changed after verify) is refused at boot and
// cleared, the firmware untouched.
static void test_refused(void **state) {
    (void)state;
    sdev_t d;
    dev_open(&d, &new_img);
    qp_fota_store_t s;
    store_package(&d, &s, pkg, pkg_size);
    char msg[200];
    assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), QP_ERR_NOENT);
    assert_non_null(strstr(msg, "another firmware"));
    assert_int_equal(boot(&d), 0);
    qp_flash_close(&d.flash);

    dev_open(&d, &old_img);
    store_package(&d, &s, pkg, pkg_size);
    assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
    assert_int_equal(qp_flash_part_erase(&d.fw, 0, d.fw.size), 0);
    assert_int_equal(qp_flash_part_program(&d.fw, 0, new_img.p, (uint32_t)new_img.len), 0);
    assert_int_equal(boot(&d), QP_ERR_NOENT);
    assert_holds(&d, &new_img);
    assert_int_equal(boot(&d), 0);
    qp_flash_close(&d.flash);
}

// A copy of the package signed with `priv`.
static uint8_t *signed_copy(const char *priv) {
    uint8_t *p = malloc(pkg_size);
    assert_non_null(p);
    memcpy(p, pkg, pkg_size);
    assert_int_equal(qp_patch_sign(p, pkg_size, priv, strlen(priv)), 0);
    return p;
}

// With a key on the store, verify() refuses an unsigned package and one signed with another
// key (QP_ERR_AUTH, the reason in msg, nothing pending, the firmware untouched) and accepts
// the signed one, which the boot applies. An unsigned package verified while the device had
// no key is refused at the boot after the device got one, and cleared, the firmware
// untouched. Runs last: the process-wide device key cannot be unset.
static void test_signed(void **state) {
    (void)state;
    char priv[512], other[512], pub[256], msg[200];
    assert_int_equal(qp_patch_sign_genkey(priv, sizeof priv), 0);
    assert_int_equal(qp_patch_sign_genkey(other, sizeof other), 0);
    assert_int_equal(qp_patch_sign_pubkey(priv, strlen(priv), pub, sizeof pub), 0);
    qp_patch_sig_key_t key;
    assert_int_equal(qp_patch_sig_key_parse(&key, pub, strlen(pub)), 0);
    uint8_t *good = signed_copy(priv), *wrong = signed_copy(other);
    static const char *const why[] = {"not signed", "bad signature"};
    const uint8_t *refused[] = {pkg, wrong};
    sdev_t d;
    dev_open(&d, &old_img);
    qp_fota_store_t s;
    for (int i = 0; i < 2; i++) {
        store_package(&d, &s, refused[i], pkg_size);
        s.key = &key;
        assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), QP_ERR_AUTH);
        assert_non_null(strstr(msg, why[i]));
        assert_int_equal(boot(&d), 0);
        assert_holds(&d, &old_img);
    }
    store_package(&d, &s, good, pkg_size);
    s.key = &key;
    assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
    assert_int_equal(boot(&d), 1);
    assert_holds(&d, &new_img);
    qp_flash_close(&d.flash);

    dev_open(&d, &old_img);
    store_package(&d, &s, pkg, pkg_size);
    assert_int_equal(qp_fota_store_verify(&s, msg, sizeof msg), 0);
    assert_null(qp_fota_device_key());
    assert_int_equal(qp_fota_device_key_set(pub, strlen(pub), 1, msg, sizeof msg), 0);
    assert_memory_equal(qp_fota_device_key()->q, key.q, sizeof key.q);
    assert_int_equal(boot(&d), QP_ERR_AUTH);
    assert_holds(&d, &old_img);
    assert_int_equal(boot(&d), 0);
    qp_flash_close(&d.flash);
    // A key set at run time cannot replace the pinned one; a bad key changes nothing.
    assert_int_equal(qp_fota_device_key_set(pub, strlen(pub), 0, msg, sizeof msg), QP_ERR_PERM);
    assert_non_null(strstr(msg, "fota_public_key"));
    assert_int_equal(qp_fota_device_key_set("junk", 4, 1, msg, sizeof msg), QP_ERR_INVAL);
    assert_memory_equal(qp_fota_device_key()->q, key.q, sizeof key.q);
    free(good);
    free(wrong);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_and_boot),
        cmocka_unit_test(test_record_crc_and_pending_mark),
        cmocka_unit_test(test_verify_powercut),
        cmocka_unit_test(test_boot_powercut),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_signed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
