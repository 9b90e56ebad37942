// Unit tests for the device profile: IMEI rules, defaults, save/load round trip, the
// per-partition littlefs version (old profiles without it stay v1) and the error messages
// a user sees for a broken device.json.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qp/qp_device.h"
#include "qp/qp_err.h"
#include "qp/qp_patch_sig.h"

#include "../qp_testdir.h"

static void write_profile(const char *dir, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/device.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_imei_luhn(void **state) {
    (void)state;
    assert_true(qp_imei_is_valid("868540050393723")); // the seed's module
    assert_false(qp_imei_is_valid("868540050393724"));
    assert_false(qp_imei_is_valid("86854005039372"));
    assert_false(qp_imei_is_valid("86854005039372a"));
    assert_int_equal(qp_imei_check_digit("49015420323751"), '8'); // textbook example
    assert_int_equal(qp_imei_check_digit("1234"), QP_ERR_INVAL);
}

static void test_make_defaults(void **state) {
    (void)state;
    qp_device_profile_t p;
    qp_device_options_t o = {0};
    char msg[256];
    assert_int_equal(qp_device_profile_make(&p, &o, 123456789012345ull, msg, sizeof msg), 0);
    assert_string_equal(p.model, "EC600S");
    assert_string_equal(p.manufacturer, "Quectel");
    assert_memory_equal(p.imei, "86854005", 8);
    assert_true(qp_imei_is_valid(p.imei));
    assert_int_equal(strlen(p.sn), 17);
    assert_int_equal(p.heap_size, 748032);
    assert_int_equal(p.usr_lfs_version, 1);
    assert_int_equal(p.bak_lfs_version, 1);
    // Different randomness, different identity.
    qp_device_profile_t q;
    assert_int_equal(qp_device_profile_make(&q, &o, 987654321098765ull, msg, sizeof msg), 0);
    assert_string_not_equal(p.imei, q.imei);
    assert_string_not_equal(p.sn, q.sn);
}

static void test_make_rejects_bad_options(void **state) {
    (void)state;
    qp_device_profile_t p;
    char msg[256];
    qp_device_options_t bad_model = {.model = "EC200U"};
    assert_int_equal(qp_device_profile_make(&p, &bad_model, 1, msg, sizeof msg), QP_ERR_INVAL);
    assert_string_equal(msg, "unknown model 'EC200U' (supported: EC600S, EC100Y)");
    qp_device_options_t bad_imei = {.imei = "868540050393724"};
    assert_int_equal(qp_device_profile_make(&p, &bad_imei, 1, msg, sizeof msg), QP_ERR_INVAL);
    assert_non_null(strstr(msg, "Luhn"));
    qp_device_options_t bad_sn = {.sn = "has space"};
    assert_int_equal(qp_device_profile_make(&p, &bad_sn, 1, msg, sizeof msg), QP_ERR_INVAL);
    qp_device_options_t bad_lfs = {.lfs_version = "3"};
    assert_int_equal(qp_device_profile_make(&p, &bad_lfs, 1, msg, sizeof msg), QP_ERR_INVAL);
    assert_string_equal(msg, "invalid littlefs version '3': give 1 (what the EC600S firmware "
                             "formats) or 2");
}

static void test_create_load_round_trip(void **state) {
    (void)state;
    char dir[300], msg[512];
    snprintf(dir, sizeof dir, "%s/a/b/dev", tmpdir);
    qp_device_options_t o = {.model = "EC600S", .imei = "868540050393723",
                             .sn = "D1D20J60A0017870P",
                             .fw_version = "EC600SCNAAR01A01M16_OCPU_PY_BETA1211"};
    qp_device_profile_t p, q;
    assert_int_equal(qp_device_profile_make(&p, &o, 0, msg, sizeof msg), 0);
    assert_int_equal(qp_device_create(dir, &p, msg, sizeof msg), 0);
    assert_int_equal(qp_device_create(dir, &p, msg, sizeof msg), QP_ERR_EXIST);
    assert_int_equal(qp_device_load(dir, &q, msg, sizeof msg), 0);
    assert_memory_equal(&p, &q, sizeof p);
}

static void expect_load_error(const char *text, int err, const char *needle) {
    char msg[512];
    qp_device_profile_t p;
    write_profile(tmpdir, text);
    assert_int_equal(qp_device_load(tmpdir, &p, msg, sizeof msg), err);
    if (!strstr(msg, needle)) {
        fail_msg("message '%s' lacks '%s'", msg, needle);
    }
    assert_non_null(strstr(msg, "device.json"));
}

static void test_load_errors_name_file_and_field(void **state) {
    (void)state;
    const char *good_tail = "\"manufacturer\":\"Quectel\",\"imei\":\"868540050393723\","
                            "\"sn\":\"X1\",\"fw_version\":\"V1\",\"heap_size\":748032}";
    char text[512];
    expect_load_error("{\"format\":1,", QP_ERR_CORRUPT, "not valid JSON");
    expect_load_error("[1,2]", QP_ERR_CORRUPT, "JSON object");
    snprintf(text, sizeof text, "{\"format\":2,\"model\":\"EC600S\",%s", good_tail);
    expect_load_error(text, QP_ERR_CORRUPT, "'format'");
    snprintf(text, sizeof text, "{\"format\":1,%s", good_tail);
    expect_load_error(text, QP_ERR_CORRUPT, "field 'model' is missing");
    snprintf(text, sizeof text, "{\"format\":1,\"model\":7,%s", good_tail);
    expect_load_error(text, QP_ERR_CORRUPT, "field 'model' must be a string");
    snprintf(text, sizeof text, "{\"format\":1,\"model\":\"EC999\",%s", good_tail);
    expect_load_error(text, QP_ERR_CORRUPT, "unknown model 'EC999'");
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393724\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032}", QP_ERR_CORRUPT, "field 'imei'");
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":-5}", QP_ERR_CORRUPT, "field 'heap_size'");
}

// Loads `text` as the profile and returns the two versions as usr * 10 + bak.
static int load_versions(const char *lfs_field) {
    char text[512], msg[512];
    snprintf(text, sizeof text, "{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":"
             "\"Quectel\",\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
             "\"heap_size\":748032%s}", lfs_field);
    write_profile(tmpdir, text);
    qp_device_profile_t p;
    int err = qp_device_load(tmpdir, &p, msg, sizeof msg);
    if (err < 0) {
        print_message("%s\n", msg);
        return err;
    }
    return p.usr_lfs_version * 10 + p.bak_lfs_version;
}

static void test_lfs_version(void **state) {
    (void)state;
    // Profiles from before the field: both partitions littlefs v1.
    assert_int_equal(load_versions(""), 11);
    assert_int_equal(load_versions(",\"lfs_version\":{}"), 11);
    assert_int_equal(load_versions(",\"lfs_version\":{\"customer_fs\":2}"), 21);
    assert_int_equal(load_versions(",\"lfs_version\":{\"customer_backup_fs\":2,"
                                   "\"customer_fs\":1}"), 12);
    // `device new --lfs-version 2` writes both, and they load back.
    char dir[300], msg[512];
    snprintf(dir, sizeof dir, "%s/dev2", tmpdir);
    qp_device_profile_t p, q;
    qp_device_options_t o = {.lfs_version = "2"};
    assert_int_equal(qp_device_profile_make(&p, &o, 7, msg, sizeof msg), 0);
    assert_int_equal(p.usr_lfs_version * 10 + p.bak_lfs_version, 22);
    assert_int_equal(qp_device_create(dir, &p, msg, sizeof msg), 0);
    assert_int_equal(qp_device_load(dir, &q, msg, sizeof msg), 0);
    assert_memory_equal(&p, &q, sizeof p);
    // Each mistake names the field and what is wrong.
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032,\"lfs_version\":2}", QP_ERR_CORRUPT,
                      "field 'lfs_version' must be an object");
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032,\"lfs_version\":{\"customer_fs\":3}}",
                      QP_ERR_CORRUPT, "'customer_fs' must be 1 (littlefs v1) or 2");
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032,\"lfs_version\":{\"customer_fs\":\"2\"}}",
                      QP_ERR_CORRUPT, "'customer_fs' must be 1 (littlefs v1) or 2");
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032,\"lfs_version\":{\"usr\":2}}",
                      QP_ERR_CORRUPT, "no file-system partition 'usr'");
}

// The optional FOTA key (SPEC-patch §3.5): `device new --fota-key` stores the PEM, which
// loads back; a key that is not a P-256 public key is refused by both, the field named.
static void test_fota_key(void **state) {
    (void)state;
    char priv[512], pub[256], dir[300], msg[512];
    assert_int_equal(qp_patch_sign_genkey(priv, sizeof priv), 0);
    assert_int_equal(qp_patch_sign_pubkey(priv, strlen(priv), pub, sizeof pub), 0);
    qp_device_profile_t p, q;
    qp_device_options_t o = {.fota_public_key = pub};
    assert_int_equal(qp_device_profile_make(&p, &o, 7, msg, sizeof msg), 0);
    assert_string_equal(p.fota_public_key, pub);
    snprintf(dir, sizeof dir, "%s/devk", tmpdir);
    assert_int_equal(qp_device_create(dir, &p, msg, sizeof msg), 0);
    assert_int_equal(qp_device_load(dir, &q, msg, sizeof msg), 0);
    assert_memory_equal(&p, &q, sizeof p);
    // Without the option: no key, and none written.
    qp_device_options_t none = {0};
    assert_int_equal(qp_device_profile_make(&p, &none, 7, msg, sizeof msg), 0);
    assert_string_equal(p.fota_public_key, "");
    // A private key is not what a device holds.
    o.fota_public_key = priv;
    assert_int_equal(qp_device_profile_make(&p, &o, 7, msg, sizeof msg), QP_ERR_INVAL);
    assert_non_null(strstr(msg, "invalid FOTA public key: need an ECDSA P-256 public key"));
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032,\"fota_public_key\":\"-----BEGIN PUBLIC KEY-----\"}",
                      QP_ERR_CORRUPT, "field 'fota_public_key': need an ECDSA P-256 public key");
    expect_load_error("{\"format\":1,\"model\":\"EC600S\",\"manufacturer\":\"Quectel\","
                      "\"imei\":\"868540050393723\",\"sn\":\"X1\",\"fw_version\":\"V1\","
                      "\"heap_size\":748032,\"fota_public_key\":7}",
                      QP_ERR_CORRUPT, "field 'fota_public_key'");
}

static void test_load_missing_device(void **state) {
    (void)state;
    char dir[300], msg[512];
    qp_device_profile_t p;
    snprintf(dir, sizeof dir, "%s/nothing-here", tmpdir);
    assert_int_equal(qp_device_load(dir, &p, msg, sizeof msg), QP_ERR_NOENT);
    assert_non_null(strstr(msg, "nothing-here"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imei_luhn),
        cmocka_unit_test(test_make_defaults),
        cmocka_unit_test(test_make_rejects_bad_options),
        cmocka_unit_test_setup_teardown(test_create_load_round_trip, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_load_errors_name_file_and_field, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_lfs_version, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_fota_key, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_load_missing_device, make_tmpdir, remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
