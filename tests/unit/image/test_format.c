// Unit tests for the image format (SPEC-image §3): build, serialise, parse and verify round
// trips, reproducibility, the builder's argument checks, default settings and their
// memory needs, and that every allocation goes through the config.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "image_test.h"

#define VERSION "EC600SCNAAR01A01M16_OCPU_PY_BETA1211"

static uint8_t *make_archive(size_t *len) {
    static const char *paths[] = {"boot.py", "lib/checksum.py", "lib/modem.py"};
    static const char *texts[] = {"import modem\n", "def crc(b):\n    return 0\n",
                                  "def getDevFwVersion():\n    return 'x'\n"};
    qp_image_archive_entry_t e[3];
    for (int i = 0; i < 3; i++) {
        e[i].path = paths[i];
        e[i].path_len = (uint32_t)strlen(paths[i]);
        e[i].data = (const uint8_t *)texts[i];
        e[i].size = (uint32_t)strlen(texts[i]);
    }
    assert_int_equal(qp_image_archive_build(e, 3, NULL, 0, len), 0);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(qp_image_archive_build(e, 3, buf, *len, len), 0);
    return buf;
}

// Builds a three-section image into *out (cp, dsp: pseudo-firmware; app: an archive).
static void build_image(membuf_t *out, uint8_t codec, const qp_image_config_t *cfg) {
    uint8_t *cp = make_fw(200000, 1, 0), *dsp = make_fw(70000, 2, 0);
    size_t alen;
    uint8_t *app = make_archive(&alen);
    qp_image_builder_t b;
    qp_image_builder_init(&b);
    assert_int_equal(qp_image_builder_open(&b, cfg, "EC600S", VERSION), 0);
    qp_image_section_opts_t o = {0};
    o.codec = codec;
    assert_int_equal(qp_image_builder_add(&b, "cp", cp, 200000, &o), 0);
    assert_int_equal(qp_image_builder_add(&b, "dsp", dsp, 70000, &o), 0);
    o.content = QP_IMAGE_CONTENT_ARCHIVE;
    assert_int_equal(qp_image_builder_add(&b, "app", app, alen, &o), 0);
    uint64_t size;
    assert_int_equal(qp_image_builder_size(&b, &size), 0);
    memset(out, 0, sizeof *out);
    assert_int_equal(qp_image_builder_write(&b, mem_write, out), 0);
    assert_int_equal(out->len, size);
    qp_image_builder_close(&b);
    free(cp);
    free(dsp);
    free(app);
}

static void check_round_trip(uint8_t codec) {
    membuf_t img;
    build_image(&img, codec, NULL);
    qp_image_info_t info, info2;
    qp_image_diag_t d = {0};
    assert_int_equal(qp_image_parse_header(&info, img.data, img.len, &d), 0);
    assert_int_equal(qp_image_read_header(&info2, mem_read, &img, img.len, NULL, &d), 0);
    assert_int_equal(info.version_major, QP_IMAGE_VERSION_MAJOR);
    assert_int_equal(info.version_minor, QP_IMAGE_VERSION_MINOR);
    assert_string_equal(info.model, "EC600S");
    assert_string_equal(info.version, VERSION);
    assert_int_equal(info.section_count, 3);
    assert_int_equal(info.image_size, img.len);
    assert_int_equal(info.header_size, QP_IMAGE_HEADER_SIZE + 3 * QP_IMAGE_ENTRY_SIZE);
    assert_true(info2.has_trailer);
    assert_false(info.has_trailer);
    assert_memory_equal(info2.image_sha256, img.data + img.len - 32, 32);
    assert_string_equal(info.sections[0].name, "cp");
    assert_string_equal(info.sections[2].name, "app");
    assert_int_equal(info.sections[2].content, QP_IMAGE_CONTENT_ARCHIVE);
    assert_int_equal(info.sections[0].params.codec, codec);
    assert_int_equal(qp_image_find_section(&info, "dsp"), 1);
    assert_int_equal(qp_image_find_section(&info, "nvm"), QP_ERR_NOENT);
    assert_int_equal(qp_image_verify(&info2, mem_read, &img, 1, NULL, &d), 0);

    uint8_t *want[2] = {make_fw(200000, 1, 0), make_fw(70000, 2, 0)};
    for (int i = 0; i < 2; i++) {
        const qp_image_section_t *s = &info.sections[i];
        uint8_t *out = malloc(s->usize);
        assert_int_equal(qp_image_decompress(s, img.data + s->offset, s->csize, out, s->usize,
                                             NULL),
                         0);
        assert_memory_equal(out, want[i], s->usize);
        free(out);
        free(want[i]);
    }
    // The archive comes back intact and iterable.
    const qp_image_section_t *s = &info.sections[2];
    uint8_t *ar = malloc(s->usize);
    assert_int_equal(
        qp_image_decompress(s, img.data + s->offset, s->csize, ar, s->usize, NULL), 0);
    uint32_t n;
    assert_int_equal(qp_image_archive_check(ar, s->usize, &n), 0);
    assert_int_equal(n, 3);
    free(ar);
    free(img.data);
}

static void test_round_trip_lzma(void **state) {
    (void)state;
    check_round_trip(QP_IMAGE_CODEC_LZMA);
}

static void test_round_trip_lzo(void **state) {
    (void)state;
    check_round_trip(QP_IMAGE_CODEC_LZO);
}

static void test_reproducible(void **state) {
    (void)state;
    membuf_t a, b;
    build_image(&a, 0, NULL);
    build_image(&b, 0, NULL);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    free(a.data);
    free(b.data);
}

static void test_builder_errors(void **state) {
    (void)state;
    qp_image_builder_t b;
    qp_image_builder_init(&b);
    qp_image_builder_close(&b); // closed builder: no-op
    qp_image_builder_close(NULL);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC200U", "v"), QP_ERR_INVAL);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", ""), QP_ERR_INVAL);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", "tab\there"), QP_ERR_INVAL);
    char longv[80];
    memset(longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = 0;
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", longv), QP_ERR_INVAL);
    longv[QP_IMAGE_VERSION_STR_MAX] = 0;
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC100Y", longv), 0);
    uint64_t size;
    assert_int_equal(qp_image_builder_size(&b, &size), QP_ERR_INVAL); // no section yet
    const uint8_t data[4] = {1, 2, 3, 4};
    assert_int_equal(qp_image_builder_add(&b, "", data, 4, NULL), QP_ERR_INVAL);
    assert_int_equal(qp_image_builder_add(&b, "CP", data, 4, NULL), QP_ERR_INVAL);
    assert_int_equal(qp_image_builder_add(&b, "a_very_long_name", data, 4, NULL),
                     QP_ERR_INVAL);
    qp_image_section_opts_t o = {0};
    o.codec = 7;
    assert_int_equal(qp_image_builder_add(&b, "cp", data, 4, &o), QP_ERR_INVAL);
    o.codec = 0;
    o.level = 10;
    assert_int_equal(qp_image_builder_add(&b, "cp", data, 4, &o), QP_ERR_INVAL);
    o.level = 0;
    o.dict_size = 1024;
    assert_int_equal(qp_image_builder_add(&b, "cp", data, 4, &o), QP_ERR_INVAL);
    o.dict_size = 0;
    o.content = QP_IMAGE_CONTENT_ARCHIVE; // not an archive
    assert_int_equal(qp_image_builder_add(&b, "app", data, 4, &o), QP_ERR_INVAL);
    assert_int_equal(qp_image_builder_add(&b, "cp", data, 4, NULL), 0);
    assert_int_equal(qp_image_builder_add(&b, "cp", data, 4, NULL), QP_ERR_EXIST);
    for (unsigned i = 1; i < QP_IMAGE_MAX_SECTIONS; i++) {
        char name[8];
        name[0] = 's';
        name[1] = (char)('a' + i);
        name[2] = 0;
        assert_int_equal(qp_image_builder_add(&b, name, data, 4, NULL), 0);
    }
    assert_int_equal(qp_image_builder_add(&b, "more", data, 4, NULL), QP_ERR_NOSPC);
    assert_non_null(qp_image_builder_section(&b, 0));
    assert_null(qp_image_builder_section(&b, QP_IMAGE_MAX_SECTIONS));
    membuf_t img = {0};
    assert_int_equal(qp_image_builder_write(&b, mem_write, &img), 0);
    qp_image_info_t info;
    assert_int_equal(qp_image_parse_header(&info, img.data, img.len, NULL), 0);
    assert_int_equal(info.section_count, QP_IMAGE_MAX_SECTIONS);
    assert_string_equal(info.model, "EC100Y");
    qp_image_builder_close(&b);
    free(img.data);
}

static void test_default_settings(void **state) {
    (void)state;
    qp_image_params_t p;
    assert_int_equal(qp_image_params_resolve(&p, NULL, 4u << 20), 0);
    assert_int_equal(p.codec, QP_IMAGE_CODEC_LZMA);
    assert_int_equal(p.dict_size, QP_IMAGE_DEFAULT_DICT_SIZE);
    assert_int_equal(p.bcj, QP_IMAGE_BCJ_ARMTHUMB);
    assert_int_equal(p.mf, QP_IMAGE_MF_HC4);
    assert_int_equal(p.mode, QP_IMAGE_MODE_NORMAL);
    assert_int_equal(p.lc, 3);
    assert_int_equal(p.lp, 0);
    assert_int_equal(p.pb, 2);
    assert_int_equal(p.nice_len, 64);
    // The FOTA budget (SPEC-image §4.3): encoder + decoder of the default settings
    // leave room in 2 MiB for the patch machinery.
    uint64_t enc, dec;
    assert_int_equal(qp_image_memusage(&p, &enc, &dec), 0);
    assert_true(enc <= 1800u * 1024);
    assert_true(dec <= 160u * 1024);
    assert_true(enc + dec <= 1900u * 1024);
    // The dictionary shrinks to the section: 2^n or 3 * 2^(n-1), at least 4 KiB.
    assert_int_equal(qp_image_params_resolve(&p, NULL, 0), 0);
    assert_int_equal(p.dict_size, 4096);
    assert_int_equal(qp_image_params_resolve(&p, NULL, 5000), 0);
    assert_int_equal(p.dict_size, 6144);
    assert_int_equal(qp_image_params_resolve(&p, NULL, 6145), 0);
    assert_int_equal(p.dict_size, 8192);
    assert_int_equal(qp_image_params_resolve(&p, NULL, 40000), 0);
    assert_int_equal(p.dict_size, 49152);
    qp_image_section_opts_t o = {0};
    o.codec = QP_IMAGE_CODEC_LZO;
    assert_int_equal(qp_image_params_resolve(&p, &o, 1000), 0);
    assert_int_equal(p.lzo_algo, QP_IMAGE_LZO_1X_999);
    assert_int_equal(p.lzo_block, QP_IMAGE_DEFAULT_LZO_BLOCK);
    o.level = 1;
    assert_int_equal(qp_image_params_resolve(&p, &o, 1000), 0);
    assert_int_equal(p.lzo_algo, QP_IMAGE_LZO_1X_1);
    assert_int_equal(qp_image_memusage(&p, &enc, &dec), 0);
    assert_true(dec < 2 * QP_IMAGE_DEFAULT_LZO_BLOCK + 8192);
    assert_string_equal(qp_image_codec_name(QP_IMAGE_CODEC_LZO), "lzop");
    assert_string_equal(qp_image_bcj_name(QP_IMAGE_BCJ_ARMTHUMB), "armthumb");
    assert_string_equal(qp_image_mf_name(QP_IMAGE_MF_BT4), "bt4");
    assert_string_equal(qp_image_mf_name(9), "?");
}

// Streams one section through a coder with the counting allocator and checks that the
// peak stays within what qp_image_memusage() promises.
static void test_memory_bounded(void **state) {
    (void)state;
    size_t n = 300000;
    uint8_t *fw = make_fw(n, 5, 0);
    static const uint8_t codecs[] = {QP_IMAGE_CODEC_LZMA, QP_IMAGE_CODEC_LZO};
    for (size_t c = 0; c < 2; c++) {
        qp_image_section_opts_t o = {0};
        o.codec = codecs[c];
        qp_image_params_t p;
        assert_int_equal(qp_image_params_resolve(&p, &o, n), 0);
        uint64_t enc, dec;
        assert_int_equal(qp_image_memusage(&p, &enc, &dec), 0);
        counter_t cnt = {0};
        qp_image_config_t cfg = counting_config(&cnt);
        size_t cap = (size_t)qp_image_compress_bound(&p, n), clen;
        uint8_t *z = malloc(cap);
        assert_int_equal(qp_image_recompress(&p, fw, n, z, cap, &clen, &cfg), 0);
        assert_true(cnt.peak <= enc);
        assert_int_equal(cnt.cur, 0);
        qp_image_section_t s = {0};
        s.params = p;
        s.usize = n;
        s.csize = clen;
        qp_image_stream_t st;
        assert_int_equal(qp_image_encoder_open(&st, &p, n, NULL), 0);
        const uint8_t *in = fw;
        size_t in_len = n;
        uint8_t *out = z, *end = z + cap;
        size_t out_len = cap;
        assert_int_equal(qp_image_stream_run(&st, &in, &in_len, &out, &out_len), 1);
        assert_int_equal(qp_image_stream_result(&st, NULL, NULL, s.usha256, s.csha256), 0);
        qp_image_stream_close(&st);
        (void)end;
        cnt.peak = 0;
        uint8_t *back = malloc(n);
        assert_int_equal(qp_image_decompress(&s, z, clen, back, n, &cfg), 0);
        assert_memory_equal(back, fw, n);
        assert_true(cnt.peak <= dec);
        assert_int_equal(cnt.cur, 0);
        free(back);
        free(z);
    }
    free(fw);
}

// Every allocation failure is reported as QP_ERR_NOMEM without leaks.
static void test_set_identity(void **state) {
    (void)state;
    membuf_t img;
    build_image(&img, QP_IMAGE_CODEC_LZMA, NULL);
    qp_image_info_t before, after;
    assert_int_equal(qp_image_parse_header(&before, img.data, img.len, NULL), 0);
    assert_int_equal(qp_image_set_identity(img.data, img.len, "EC100Y", "EC100YCNAAR01A01M16_V2",
                                           NULL), 0);
    assert_int_equal(qp_image_read_header(&after, mem_read, &img, img.len, NULL, NULL), 0);
    assert_string_equal(after.model, "EC100Y");
    assert_string_equal(after.version, "EC100YCNAAR01A01M16_V2");
    assert_int_equal(qp_image_verify(&after, mem_read, &img, 1, NULL, NULL), 0);
    // The sections are untouched.
    assert_memory_equal(before.sections, after.sections, sizeof before.sections);
    // Bad identities are refused; a damaged image is never re-blessed.
    assert_int_equal(qp_image_set_identity(img.data, img.len, "EC200U", "V", NULL),
                     QP_ERR_INVAL);
    assert_int_equal(qp_image_set_identity(img.data, img.len, "EC600S", "bad\tversion", NULL),
                     QP_ERR_INVAL);
    assert_int_equal(qp_image_set_identity(img.data, img.len - 1, "EC600S", "V", NULL),
                     QP_ERR_CORRUPT);
    img.data[img.len / 2] ^= 1;
    qp_image_diag_t diag = {0};
    assert_int_equal(qp_image_set_identity(img.data, img.len, "EC600S", "V", &diag),
                     QP_ERR_CORRUPT);
    assert_string_equal(diag.what, "image hash (trailer) mismatch");
    free(img.data);
}

static void test_alloc_failures(void **state) {
    (void)state;
    size_t n = 50000;
    uint8_t *fw = make_fw(n, 6, 0);
    static const uint8_t codecs[] = {QP_IMAGE_CODEC_LZMA, QP_IMAGE_CODEC_LZO};
    for (size_t c = 0; c < 2; c++) {
        for (size_t k = 1;; k++) {
            counter_t cnt = {0};
            cnt.fail_at = k;
            qp_image_config_t cfg = counting_config(&cnt);
            qp_image_builder_t b;
            assert_int_equal(qp_image_builder_open(&b, &cfg, "EC600S", "v1"), 0);
            qp_image_section_opts_t o = {0};
            o.codec = codecs[c];
            int err = qp_image_builder_add(&b, "cp", fw, n, &o);
            qp_image_builder_close(&b);
            assert_int_equal(cnt.cur, 0);
            if (err == 0) {
                assert_true(k > 1);
                break;
            }
            assert_int_equal(err, QP_ERR_NOMEM);
        }
    }
    free(fw);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_lzma),  cmocka_unit_test(test_round_trip_lzo),
        cmocka_unit_test(test_reproducible),     cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_default_settings), cmocka_unit_test(test_memory_bounded),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_set_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
