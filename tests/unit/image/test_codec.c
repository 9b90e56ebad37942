// Unit tests for the section codecs (SPEC-image §4): decompress + recompress with the
// recorded settings is byte-identical (the property FOTA's in-place apply relies on), for
// LZMA under several settings and for both LZO compressors; streaming with tiny input and
// output buffers gives the same bytes as one call; LZO block edge cases; LZMA restart
// points (§4.1): a decoder opened at any noted restart point gives the rest of the section.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "image_test.h"

// Builds a one-section image of `data` with `o`, then decompresses the section and
// recompresses it with the recorded params: the bytes must equal the stored ones.
static void check_recompress(const uint8_t *data, size_t n, const qp_image_section_opts_t *o) {
    qp_image_builder_t b;
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", "V1"), 0);
    assert_int_equal(qp_image_builder_add(&b, "cp", data, n, o), 0);
    membuf_t img = {0};
    assert_int_equal(qp_image_builder_write(&b, mem_write, &img), 0);
    qp_image_builder_close(&b);

    qp_image_info_t info;
    assert_int_equal(qp_image_parse_header(&info, img.data, img.len, NULL), 0);
    const qp_image_section_t *s = &info.sections[0];
    uint8_t *plain = malloc(s->usize + 1);
    assert_int_equal(qp_image_decompress(s, img.data + s->offset, s->csize, plain, s->usize,
                                         NULL),
                     0);
    assert_memory_equal(plain, data, n);
    size_t cap = (size_t)qp_image_compress_bound(&s->params, s->usize), clen = 0;
    assert_true(cap >= s->csize);
    uint8_t *z = malloc(cap);
    assert_int_equal(qp_image_recompress(&s->params, plain, s->usize, z, cap, &clen, NULL), 0);
    assert_int_equal(clen, s->csize);
    assert_memory_equal(z, img.data + s->offset, clen);
    // Too small an output buffer is refused, not overrun.
    if (clen > 0) {
        assert_int_equal(qp_image_recompress(&s->params, plain, s->usize, z, clen - 1, &clen,
                                             NULL),
                         QP_ERR_NOSPC);
    }
    free(z);
    free(plain);
    free(img.data);
}

static void test_recompress_lzma(void **state) {
    (void)state;
    size_t n = 300000;
    uint8_t *fw = make_fw(n, 11, 0);
    static const struct {
        uint8_t level, bcj, mf;
        uint32_t dict, restart;
    } cases[] = {
        {0, 0, 0, 0, 0}, // the defaults (two streams: 256 KiB restart interval)
        {9, QP_IMAGE_BCJ_NONE, QP_IMAGE_MF_BT4, 256u * 1024, QP_IMAGE_RESTART_NONE},
        {6, QP_IMAGE_BCJ_ARM, QP_IMAGE_MF_HC4, 0, 65536},
        {1, QP_IMAGE_BCJ_NONE, QP_IMAGE_MF_HC3, 16384, 131072},
        {3, QP_IMAGE_BCJ_ARMTHUMB, QP_IMAGE_MF_BT2, 0, 65536},
        {5, QP_IMAGE_BCJ_NONE, QP_IMAGE_MF_BT3, 4096, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qp_image_section_opts_t o = {0};
        o.level = cases[i].level;
        o.bcj = cases[i].bcj;
        o.mf = cases[i].mf;
        o.dict_size = cases[i].dict;
        o.restart = cases[i].restart;
        check_recompress(fw, n, &o);
    }
    free(fw);
}

static void test_recompress_lzo(void **state) {
    (void)state;
    size_t n = 200000;
    uint8_t *fw = make_fw(n, 12, 0);
    qp_image_section_opts_t o = {0};
    o.codec = QP_IMAGE_CODEC_LZO;
    check_recompress(fw, n, &o);
    o.level = 1;
    check_recompress(fw, n, &o);
    o.lzo_block = 4096;
    check_recompress(fw, n, &o);
    free(fw);
}

// Edge sizes: empty, one byte, exactly one and two LZO blocks, one past, incompressible
// data (stored LZO blocks, LZMA2 uncompressed chunks).
static void test_edge_sizes(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 4096, 8192, 8193, 70000};
    uint8_t *noise = malloc(70000);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < 70000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise[i] = (uint8_t)x;
    }
    uint8_t *fw = make_fw(70000, 13, 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int codec = QP_IMAGE_CODEC_LZMA; codec <= QP_IMAGE_CODEC_LZO; codec++) {
            qp_image_section_opts_t o = {0};
            o.codec = (uint8_t)codec;
            o.lzo_block = 4096;
            check_recompress(fw, sizes[i], &o);
            check_recompress(noise, sizes[i], &o);
        }
    }
    free(fw);
    free(noise);
}

// Runs a coder with input and output handed over in pieces of at most `ichunk`/`ochunk`
// bytes; returns the output length.
static size_t run_chunked(qp_image_stream_t *st, const uint8_t *in, size_t n, uint8_t *out,
                          size_t cap, size_t ichunk, size_t ochunk) {
    size_t ipos = 0, opos = 0;
    for (int guard = 0; guard < 100000000; guard++) {
        size_t il = n - ipos < ichunk ? n - ipos : ichunk;
        size_t ol = cap - opos < ochunk ? cap - opos : ochunk;
        const uint8_t *ip = in + ipos;
        uint8_t *op = out + opos;
        size_t il0 = il, ol0 = ol;
        int r = qp_image_stream_run(st, &ip, &il, &op, &ol);
        assert_true(r >= 0);
        ipos += il0 - il;
        opos += ol0 - ol;
        if (r == 1) {
            return opos;
        }
        assert_true(ipos < n || opos < cap); // it needs something we still have
    }
    fail();
    return 0;
}

static void test_streaming(void **state) {
    (void)state;
    size_t n = 100000;
    uint8_t *fw = make_fw(n, 14, 0);
    const size_t chunks[][2] = {{1, 1}, {7, 13}, {4096, 1}, {1, 65536}, {n, n}};
    // LZMA as one stream, LZO, LZMA with a restart point at 64 KiB.
    for (int variant = 0; variant < 3; variant++) {
        qp_image_section_opts_t o = {0};
        o.codec = variant == 1 ? QP_IMAGE_CODEC_LZO : QP_IMAGE_CODEC_LZMA;
        o.lzo_block = 8192;
        o.restart = variant == 2 ? 65536 : 0;
        qp_image_params_t p;
        assert_int_equal(qp_image_params_resolve(&p, &o, n), 0);
        size_t cap = (size_t)qp_image_compress_bound(&p, n), clen;
        uint8_t *ref = malloc(cap), *z = malloc(cap), *back = malloc(n + 16);
        assert_int_equal(qp_image_recompress(&p, fw, n, ref, cap, &clen, NULL), 0);
        qp_image_section_t s = {0};
        s.params = p;
        s.usize = n;
        s.csize = clen;
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            // Encoder: input split finely gives the same bytes.
            qp_image_stream_t st;
            qp_image_stream_init(&st);
            assert_int_equal(qp_image_encoder_open(&st, &p, n, NULL), 0);
            assert_int_equal(run_chunked(&st, fw, n, z, cap, chunks[c][0], chunks[c][1]),
                             clen);
            assert_memory_equal(z, ref, clen);
            uint64_t u, cz;
            assert_int_equal(qp_image_stream_result(&st, &u, &cz, s.usha256, s.csha256), 0);
            assert_int_equal(u, n);
            assert_int_equal(cz, clen);
            qp_image_stream_close(&st);
            // Decoder with small output buffers.
            assert_int_equal(qp_image_decoder_open(&st, &s, NULL), 0);
            assert_int_equal(run_chunked(&st, ref, clen, back, n, chunks[c][1], chunks[c][0]),
                             n);
            assert_memory_equal(back, fw, n);
            qp_image_stream_close(&st);
        }
        // Bytes after the section stay with the caller; calls after the end return 1.
        memcpy(z, ref, clen);
        memset(z + clen, 0xAB, 16 < cap - clen ? 16 : cap - clen);
        size_t extra = 16 < cap - clen ? 16 : cap - clen;
        qp_image_stream_t st;
        assert_int_equal(qp_image_decoder_open(&st, &s, NULL), 0);
        const uint8_t *ip = z;
        size_t il = clen + extra, ol = n + 16;
        uint8_t *op = back;
        assert_int_equal(qp_image_stream_run(&st, &ip, &il, &op, &ol), 1);
        assert_int_equal(il, extra);
        assert_int_equal(ol, 16);
        assert_int_equal(qp_image_stream_run(&st, &ip, &il, &op, &ol), 1);
        qp_image_stream_close(&st);
        qp_image_stream_close(&st);
        assert_int_equal(qp_image_stream_run(&st, &ip, &il, &op, &ol), QP_ERR_INVAL);
        free(ref);
        free(z);
        free(back);
    }
    free(fw);
}

// Restart points (§4.1): a decoder reports where each stream begins as it passes it; a
// random-access decoder opened at any of them gives exactly the rest of the section, with
// small buffers too; places that are not restart points are refused.
static void test_restart_points(void **state) {
    (void)state;
    size_t n = 300000;
    uint8_t *fw = make_fw(n, 15, 0);
    qp_image_section_opts_t o = {0};
    o.restart = 65536;
    qp_image_params_t p;
    assert_int_equal(qp_image_params_resolve(&p, &o, n), 0);
    assert_int_equal(p.restart, 65536);
    size_t cap = (size_t)qp_image_compress_bound(&p, n), clen;
    uint8_t *ref = malloc(cap), *back = malloc(n);
    assert_int_equal(qp_image_recompress(&p, fw, n, ref, cap, &clen, NULL), 0);
    qp_image_section_t s = {0};
    s.params = p;
    s.usize = n;
    s.csize = clen;
    // Note the restart points while decoding the whole section 1000 bytes at a time.
    uint64_t pu[8], pc[8];
    size_t points = 0, ipos = 0, opos = 0;
    qp_image_stream_t st;
    assert_int_equal(qp_image_decoder_open_at(&st, &s, NULL, 0, 0), 0);
    for (int r = 0; r != 1;) {
        const uint8_t *ip = ref + ipos;
        uint8_t *op = back + opos;
        size_t il = clen - ipos < 1000 ? clen - ipos : 1000, ol = n - opos < 1000 ? n - opos : 1000;
        size_t il0 = il, ol0 = ol;
        r = qp_image_stream_run(&st, &ip, &il, &op, &ol);
        assert_true(r >= 0);
        ipos += il0 - il;
        opos += ol0 - ol;
        uint64_t u, c;
        qp_image_stream_restart_point(&st, &u, &c);
        if (points == 0 || pu[points - 1] != u) {
            assert_true(points < 8);
            pu[points] = u;
            pc[points] = c;
            points++;
        }
    }
    qp_image_stream_close(&st);
    assert_memory_equal(back, fw, n);
    assert_int_equal(points, 5); // 0, 64K, 128K, 192K, 256K
    for (size_t k = 0; k < points; k++) {
        assert_int_equal(pu[k], k * 65536);
        memset(back, 0, n);
        assert_int_equal(qp_image_decoder_open_at(&st, &s, NULL, pu[k], pc[k]), 0);
        size_t got = run_chunked(&st, ref + pc[k], clen - pc[k], back, n - pu[k], 777, 333);
        assert_int_equal(got, n - pu[k]);
        assert_memory_equal(back, fw + pu[k], got);
        qp_image_stream_close(&st);
    }
    assert_int_equal(qp_image_decoder_open_at(&st, &s, NULL, 1000, pc[1]), QP_ERR_INVAL);
    assert_int_equal(qp_image_decoder_open_at(&st, &s, NULL, 65536, clen), QP_ERR_INVAL);
    s.params.restart = 0;
    assert_int_equal(qp_image_decoder_open_at(&st, &s, NULL, 65536, pc[1]), QP_ERR_INVAL);
    // Bad restart intervals are refused when resolving and when checking recorded params.
    o.restart = 65536 + 4096;
    assert_int_equal(qp_image_params_resolve(&p, &o, n), QP_ERR_INVAL);
    o.restart = 32768;
    assert_int_equal(qp_image_params_resolve(&p, &o, n), QP_ERR_INVAL);
    s.params.restart = 3u << 16;
    assert_int_equal(qp_image_params_check(&s.params), QP_ERR_CORRUPT);
    // A section no longer than the interval records none (the same bytes as one stream).
    o.restart = 0;
    assert_int_equal(qp_image_params_resolve(&p, &o, QP_IMAGE_DEFAULT_RESTART), 0);
    assert_int_equal(p.restart, 0);
    free(ref);
    free(back);
    free(fw);
}

// An encoder fed more than its declared size takes only usize bytes.
static void test_encoder_takes_usize(void **state) {
    (void)state;
    uint8_t data[1000];
    memset(data, 'a', sizeof data);
    qp_image_params_t p;
    assert_int_equal(qp_image_params_resolve(&p, NULL, 600), 0);
    qp_image_stream_t st;
    assert_int_equal(qp_image_encoder_open(&st, &p, 600, NULL), 0);
    uint8_t out[2000];
    const uint8_t *ip = data;
    size_t il = sizeof data, ol = sizeof out;
    uint8_t *op = out;
    assert_int_equal(qp_image_stream_run(&st, &ip, &il, &op, &ol), 1);
    assert_int_equal(il, 400);
    qp_image_stream_close(&st);
    p.mf = 0;
    assert_int_equal(qp_image_encoder_open(&st, &p, 600, NULL), QP_ERR_INVAL);
    qp_image_stream_close(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recompress_lzma), cmocka_unit_test(test_recompress_lzo),
        cmocka_unit_test(test_edge_sizes),      cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_encoder_takes_usize), cmocka_unit_test(test_restart_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
