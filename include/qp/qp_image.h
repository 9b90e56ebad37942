// qp_image.h - firmware images (`system.img`): build, serialise, parse, verify, and the
// per-section codecs (LZMA2, and LZO1X as the old scheme) with exact recompression.
//
// Why this exists: the module's `firmware` partition holds one image of named sections
// (`cp`, `dsp`, `app`, ...), each compressed on its own. FOTA (src/patch) diffs the
// *uncompressed* sections, so the device must decompress the old sections on the fly and
// recompress the patched data into bytes identical to the new image. That only works if
// each section records the exact encoder settings used to make it (not a preset number,
// whose meaning belongs to one liblzma release), which is what qp_image_params_t is. The
// format is specified in docs/SPEC-image.md; section numbers below (§n) refer to it.
//
// Memory: every allocation goes through the config's alloc callback (malloc/free when
// NULL), including liblzma's and liblzo2's own. The streaming coder (qp_image_stream_t)
// needs qp_image_memusage() bytes at most; with the default settings (§4.3) that is about
// 1.7 MiB to recompress and 100 KiB to decompress a section.
//
// Errors: negative errno values from qp_err.h, 0 (or a positive count) on success. Anything
// read from an image that fails a check gives QP_ERR_CORRUPT; the optional qp_image_diag_t
// says what and where. Nothing here asserts on image data.
//
// Thread-safety: none inside one handle; distinct handles are independent. Reentrant.
#ifndef QP_IMAGE_H
#define QP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

// Version of the format in docs/SPEC-image.md. A reader refuses another major version
// (QP_ERR_NOTSUP) and reads every minor version of its own major (§2).
#define QP_IMAGE_VERSION_MAJOR 1
#define QP_IMAGE_VERSION_MINOR 0

#define QP_IMAGE_MAGIC "QPFWIMG\x1a"      // 8 bytes at offset 0 (§3.1)
#define QP_IMAGE_HEADER_SIZE 128u          // fixed header (§3.1)
#define QP_IMAGE_ENTRY_SIZE 160u           // one section-table entry in version 1.0 (§3.2)
#define QP_IMAGE_TRAILER_SIZE 32u          // SHA-256 of everything before it (§3.4)
#define QP_IMAGE_MAX_SECTIONS 16u
#define QP_IMAGE_NAME_MAX 15u              // section name, bytes without the NUL
#define QP_IMAGE_MODEL_MAX 15u             // target model ("EC600S"), bytes without the NUL
#define QP_IMAGE_VERSION_STR_MAX 63u       // firmware version string, bytes without the NUL
#define QP_IMAGE_SHA256_SIZE 32u
// Largest uncompressed or compressed section this implementation handles (§3.2): 1 GiB,
// far above any module's flash, and small enough that sizes fit a 32-bit size_t.
#define QP_IMAGE_SECTION_MAX (1u << 30)

// The models an image may target (§3.1). qp_image_model_valid() checks a name.
#define QP_IMAGE_MODELS "EC600S, EC100Y"

// Codecs (§4). The numbers are the on-disk values; 0 in an options struct means default.
#define QP_IMAGE_CODEC_LZMA 1  // raw LZMA2 (liblzma), optionally after a BCJ filter
#define QP_IMAGE_CODEC_LZO  2  // LZO1X in independent blocks (liblzo2), the old scheme

// What a section holds (§3.2): opaque bytes, or an app archive (§5).
#define QP_IMAGE_CONTENT_RAW 0
#define QP_IMAGE_CONTENT_ARCHIVE 1

// LZMA: branch-converting filter before LZMA2 (§4.1).
#define QP_IMAGE_BCJ_NONE     1
#define QP_IMAGE_BCJ_ARM      2
#define QP_IMAGE_BCJ_ARMTHUMB 3
// LZMA: match finder (§4.1), as liblzma's LZMA_MF_*.
#define QP_IMAGE_MF_HC3 1
#define QP_IMAGE_MF_HC4 2
#define QP_IMAGE_MF_BT2 3
#define QP_IMAGE_MF_BT3 4
#define QP_IMAGE_MF_BT4 5
// LZMA: encoder mode (§4.1), as liblzma's LZMA_MODE_*.
#define QP_IMAGE_MODE_FAST   1
#define QP_IMAGE_MODE_NORMAL 2
// LZO: compressor (§4.2).
#define QP_IMAGE_LZO_1X_1   1  // lzo1x_1_compress: fast, 64 KiB of work memory
#define QP_IMAGE_LZO_1X_999 2  // lzo1x_999_compress: best ratio, 448 KiB of work memory

// Defaults (§4.3): chosen so that recompressing on the module fits the FOTA RAM budget of
// 2 MiB with room left for the patch decoder.
#define QP_IMAGE_DEFAULT_LEVEL 9
#define QP_IMAGE_DEFAULT_DICT_SIZE (64u * 1024)
#define QP_IMAGE_DEFAULT_BCJ QP_IMAGE_BCJ_ARMTHUMB
#define QP_IMAGE_DEFAULT_MF QP_IMAGE_MF_HC4
#define QP_IMAGE_DEFAULT_LZO_BLOCK (64u * 1024)
// LZMA restart interval (§4.1): the section is coded as independent LZMA2 streams of this
// many uncompressed bytes, so a reader can start decoding at any multiple of it (the FOTA
// apply's old-section reader does, SPEC-patch §8.3). Costs ~0.7 % of image size.
#define QP_IMAGE_DEFAULT_RESTART (256u * 1024)
#define QP_IMAGE_RESTART_MIN (64u * 1024)
#define QP_IMAGE_RESTART_MAX (64u << 20)
#define QP_IMAGE_RESTART_NONE UINT32_MAX // in qp_image_section_opts_t: one stream
#define QP_IMAGE_DICT_MIN 4096u
#define QP_IMAGE_DICT_MAX (64u << 20)
#define QP_IMAGE_LZO_BLOCK_MAX (1u << 20)

// ---------------------------------------------------------------------------------------
// Configuration, encoder settings, parsed metadata
// ---------------------------------------------------------------------------------------

// Shared by every call that allocates or reports progress. Zero-initialise; all fields
// optional. The library keeps no pointer to it after the call (handles copy it).
typedef struct qp_image_config {
    // NULL alloc: malloc/free. `free` must accept NULL and what `alloc` returned.
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
    // Called now and then while compressing or hashing: `done` of `total` input bytes of
    // the current section. NULL: none.
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    // Encoders: do not hash the uncompressed input (qp_image_stream_result then reports
    // zeros for it). For a caller that checks that data otherwise, as the FOTA apply does
    // through the package's hashes; saves a SHA-256 pass over the section.
    uint8_t skip_input_hash;
} qp_image_config_t;

// The exact, resolved encoder settings of one section, as recorded in its table entry
// (§3.2, §4). Recompressing the uncompressed data with these settings reproduces the
// stored bytes exactly (with the same liblzma/liblzo2 encoder, §4.4).
typedef struct qp_image_params {
    uint8_t codec;      // QP_IMAGE_CODEC_*
    uint8_t level;      // the level the settings were derived from (informative only)
    // LZMA (codec QP_IMAGE_CODEC_LZMA)
    uint8_t bcj;        // QP_IMAGE_BCJ_*
    uint8_t lc, lp, pb; // literal context/position bits, position bits
    uint8_t mode;       // QP_IMAGE_MODE_*
    uint8_t mf;         // QP_IMAGE_MF_*
    uint32_t dict_size; // bytes, QP_IMAGE_DICT_MIN..QP_IMAGE_DICT_MAX
    uint32_t nice_len;  // 2..273
    uint32_t depth;     // match finder depth, 0 = liblzma's automatic choice
    uint32_t restart;   // 0: one LZMA2 stream; else a power of two, restart interval (§4.1)
    // LZO (codec QP_IMAGE_CODEC_LZO)
    uint8_t lzo_algo;   // QP_IMAGE_LZO_*
    uint32_t lzo_block; // uncompressed bytes per block, 1..QP_IMAGE_LZO_BLOCK_MAX
} qp_image_params_t;

// What the caller asks for when adding a section; qp_image_params_resolve() turns it into
// qp_image_params_t. Zero-initialise: every 0 means the default of §4.3.
typedef struct qp_image_section_opts {
    uint8_t codec;      // 0: QP_IMAGE_CODEC_LZMA
    uint8_t level;      // 0: 9; else 1..9 (LZMA: liblzma preset; LZO: 1 = 1x_1, 2..9 = 1x_999)
    uint8_t content;    // QP_IMAGE_CONTENT_*
    uint8_t bcj;        // 0: QP_IMAGE_DEFAULT_BCJ (QP_IMAGE_BCJ_NONE for an archive)
    uint8_t mf;         // 0: QP_IMAGE_DEFAULT_MF
    uint32_t dict_size; // 0: QP_IMAGE_DEFAULT_DICT_SIZE. Either way it is then reduced to
                        // the smallest 2^n or 3*2^(n-1) >= the section size (min 4 KiB):
                        // the same output, less memory.
    uint32_t lzo_block; // 0: QP_IMAGE_DEFAULT_LZO_BLOCK
    uint32_t restart;   // LZMA, 0: QP_IMAGE_DEFAULT_RESTART; QP_IMAGE_RESTART_NONE: one
                        // stream. A section no longer than it gets 0 (the same bytes).
} qp_image_section_opts_t;

// One section as described by the section table (§3.2).
typedef struct qp_image_section {
    char name[QP_IMAGE_NAME_MAX + 1];
    uint8_t content;            // QP_IMAGE_CONTENT_*
    qp_image_params_t params;
    uint64_t offset;            // of the compressed bytes, from the start of the image
    uint64_t csize;             // compressed bytes
    uint64_t usize;             // uncompressed bytes
    uint8_t usha256[QP_IMAGE_SHA256_SIZE]; // SHA-256 of the uncompressed bytes
    uint8_t csha256[QP_IMAGE_SHA256_SIZE]; // SHA-256 of the compressed bytes
} qp_image_section_t;

// A parsed image header (§3). Filled by qp_image_parse_header()/qp_image_read_header();
// plain data, copy freely.
typedef struct qp_image_info {
    uint16_t version_major, version_minor;
    char model[QP_IMAGE_MODEL_MAX + 1];
    char version[QP_IMAGE_VERSION_STR_MAX + 1];
    uint32_t header_size;       // fixed header + section table
    uint32_t entry_size;        // bytes per table entry (>= QP_IMAGE_ENTRY_SIZE)
    uint64_t image_size;        // whole image, trailer included
    uint32_t section_count;     // 1..QP_IMAGE_MAX_SECTIONS
    qp_image_section_t sections[QP_IMAGE_MAX_SECTIONS];
    uint8_t has_trailer;        // image_sha256 below was read (qp_image_read_header)
    uint8_t image_sha256[QP_IMAGE_SHA256_SIZE]; // the trailer (§3.4)
} qp_image_info_t;

// Where a check failed, for messages such as "section 'dsp' (table entry 2, offset 0x120):
// compressed size runs past the end of the image". Every function taking one fills it on
// failure (when not NULL); on success it is left alone.
typedef struct qp_image_diag {
    const char *what;   // static text, never NULL after a failure
    int section;        // index of the section concerned, or -1 for the image as a whole
    uint64_t offset;    // image offset of the offending field or data
} qp_image_diag_t;

// Reads `len` bytes at image offset `off` into `buf`. Returns 0, or a negative errno that
// is passed through unchanged (a short source must return QP_ERR_CORRUPT or QP_ERR_IO).
typedef int (*qp_image_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);
// Consumes `len` bytes of output. Returns 0 or a negative errno, passed through.
typedef int (*qp_image_write_fn)(void *ctx, const void *buf, size_t len);

// ---------------------------------------------------------------------------------------
// Settings and memory
// ---------------------------------------------------------------------------------------

// Resolves `opts` (NULL: all defaults) for a section of `usize` bytes into exact settings.
// @retval QP_ERR_INVAL unknown codec/bcj/mf, level above 9, dictionary or LZO block size
//                      out of range
int qp_image_params_resolve(qp_image_params_t *out, const qp_image_section_opts_t *opts,
                            uint64_t usize);

// Checks recorded settings (§4): 0, or QP_ERR_CORRUPT when a field is out of range or
// the combination is one liblzma refuses.
int qp_image_params_check(const qp_image_params_t *p);

// Peak bytes the streaming encoder (recompression) and decoder need for these settings,
// everything included: the codec's own state (liblzma's lzma_raw_*_memusage, LZO work
// memory) and the block buffers of the LZO scheme. Either pointer may be NULL.
// @retval QP_ERR_CORRUPT the settings are invalid
int qp_image_memusage(const qp_image_params_t *p, uint64_t *encoder, uint64_t *decoder);

// Largest compressed size `usize` bytes can take with these settings (worst case,
// incompressible input), for sizing the output of qp_image_recompress(). UINT64_MAX if the
// settings are invalid or usize is above QP_IMAGE_SECTION_MAX.
uint64_t qp_image_compress_bound(const qp_image_params_t *p, uint64_t usize);

// Names for messages: "lzma", "lzop"; "none", "arm", "armthumb"; "hc4", ...; "?" if unknown.
const char *qp_image_codec_name(uint8_t codec);
const char *qp_image_bcj_name(uint8_t bcj);
const char *qp_image_mf_name(uint8_t mf);

// 1 if `model` is one of QP_IMAGE_MODELS, else 0.
int qp_image_model_valid(const char *model);
// 1 if `name` is a valid section name (§3.2: 1..15 bytes of [a-z0-9_]), else 0.
int qp_image_name_valid(const char *name);

// ---------------------------------------------------------------------------------------
// Building an image (host side)
// ---------------------------------------------------------------------------------------

// A builder, allocated by the caller. Sections are compressed when added and their
// compressed bytes kept (allocated) until qp_image_builder_close(). Fields are private.
typedef struct qp_image_builder {
    qp_image_config_t cfg;
    char model[QP_IMAGE_MODEL_MAX + 1];
    char version[QP_IMAGE_VERSION_STR_MAX + 1];
    uint32_t count;
    qp_image_section_t sections[QP_IMAGE_MAX_SECTIONS];
    uint8_t *cdata[QP_IMAGE_MAX_SECTIONS];
    uint8_t open;
} qp_image_builder_t;

// Makes `b` closed; qp_image_builder_close() on it is then a no-op. Never fails.
void qp_image_builder_init(qp_image_builder_t *b);

// Starts an image for `model` with firmware version string `version`. `cfg` may be NULL.
// @retval QP_ERR_INVAL  model not in QP_IMAGE_MODELS, version empty, too long, or not
//                       printable ASCII
int qp_image_builder_open(qp_image_builder_t *b, const qp_image_config_t *cfg,
                          const char *model, const char *version);

// Compresses `len` bytes of `data` as section `name` (sections are stored in the order
// added). `opts` may be NULL. The data is not kept.
// @retval QP_ERR_INVAL  invalid name or options, or the builder is not open
// @retval QP_ERR_EXIST  a section of that name was already added
// @retval QP_ERR_NOSPC  already QP_IMAGE_MAX_SECTIONS sections
// @retval QP_ERR_FBIG   len or the compressed size above QP_IMAGE_SECTION_MAX
// @retval QP_ERR_NOMEM
int qp_image_builder_add(qp_image_builder_t *b, const char *name, const void *data,
                         size_t len, const qp_image_section_opts_t *opts);

// The table entry of the section added `index`-th (for reporting), or NULL.
const qp_image_section_t *qp_image_builder_section(const qp_image_builder_t *b,
                                                   uint32_t index);

// Size in bytes the serialised image will have.
// @retval QP_ERR_INVAL not open, or no section yet
int qp_image_builder_size(const qp_image_builder_t *b, uint64_t *size);

// Serialises the image through `write` in order, from offset 0 to the trailer. Output
// depends only on what was added (no time stamps, no padding with stale memory).
// @retval QP_ERR_INVAL not open, or no section yet
// @retval other        what `write` returned
int qp_image_builder_write(qp_image_builder_t *b, qp_image_write_fn write, void *ctx);

// Frees everything; the builder is closed. Accepts NULL and a closed builder.
void qp_image_builder_close(qp_image_builder_t *b);

// ---------------------------------------------------------------------------------------
// Parsing and verifying (device and host)
// ---------------------------------------------------------------------------------------

// Parses the fixed header and section table from `buf` (`len` bytes, at least the
// header_size the image declares; the section data need not be there). Checks every field
// (§3): magic, version, sizes, header CRC, names, strings, settings, section placement.
// Sets has_trailer = 0.
// @retval QP_ERR_CORRUPT a check failed (diag says which); includes `len` too short
// @retval QP_ERR_NOTSUP  another major version
int qp_image_parse_header(qp_image_info_t *info, const void *buf, size_t len,
                          qp_image_diag_t *diag);

// As qp_image_parse_header(), reading through `read` from a source of `avail` bytes (a
// file, or a flash partition the image may not fill), and also reads the trailer.
// @retval QP_ERR_CORRUPT a check failed, or the image is longer than `avail`
// @retval QP_ERR_NOTSUP  another major version
// @retval QP_ERR_NOMEM   the table buffer could not be allocated
// @retval other          what `read` returned
int qp_image_read_header(qp_image_info_t *info, qp_image_read_fn read, void *ctx,
                         uint64_t avail, const qp_image_config_t *cfg,
                         qp_image_diag_t *diag);

// Rewrites the model and version string of a complete image held in `img` (`len` bytes,
// exactly the image) and recomputes the header CRC and the trailer hash; the sections are
// untouched. The image is verified first (header and trailer hash), so a damaged image is
// never given valid checksums.
// @retval QP_ERR_INVAL   unknown model, or a version string that is empty, too long or
//                        not printable
// @retval QP_ERR_CORRUPT the image fails its header checks or its hash (diag says where)
int qp_image_set_identity(void *img, size_t len, const char *model, const char *version,
                          qp_image_diag_t *diag);

// Index of section `name`, or QP_ERR_NOENT.
int qp_image_find_section(const qp_image_info_t *info, const char *name);

// Verifies an image whose header was read with qp_image_read_header(): the trailer hash
// over the whole image and each section's compressed hash; with `decompress` set, also
// decompresses every section (streaming, bounded memory) and checks its size and
// uncompressed hash.
// @retval QP_ERR_CORRUPT a hash, size or stream check failed (diag says where)
// @retval QP_ERR_NOMEM
// @retval other          what `read` returned
int qp_image_verify(const qp_image_info_t *info, qp_image_read_fn read, void *ctx,
                    int decompress, const qp_image_config_t *cfg, qp_image_diag_t *diag);

// ---------------------------------------------------------------------------------------
// Section codecs
// ---------------------------------------------------------------------------------------

// Decompresses a whole section: `src` holds its `csize` compressed bytes, `dst` has room
// for at least `usize`. Checks both hashes and the exact sizes.
// @retval QP_ERR_CORRUPT the data does not decode to exactly usize bytes with the
//                        recorded hashes (or srclen != csize)
// @retval QP_ERR_INVAL   dstlen < usize
// @retval QP_ERR_NOMEM
int qp_image_decompress(const qp_image_section_t *s, const void *src, size_t srclen,
                        void *dst, size_t dstlen, const qp_image_config_t *cfg);

// Compresses `len` bytes with the exact settings `p` into `dst` (capacity `cap`, see
// qp_image_compress_bound()) and stores the compressed size in *outlen. Given a section's
// recorded params and its uncompressed data, the output equals the stored bytes (§4.4).
// @retval QP_ERR_INVAL   invalid settings
// @retval QP_ERR_NOSPC   the output does not fit in `cap`
// @retval QP_ERR_NOMEM
int qp_image_recompress(const qp_image_params_t *p, const void *src, size_t len, void *dst,
                        size_t cap, size_t *outlen, const qp_image_config_t *cfg);

// Streaming coder: a decoder of one section's compressed bytes, or an encoder of one
// section's uncompressed bytes (recompression), with memory bounded by
// qp_image_memusage(). Allocated by the caller; fields private (the state of liblzma and
// the two SHA-256 contexts live in `opaque`). An open stream must not be moved or copied:
// liblzma keeps a pointer into it.
typedef struct qp_image_stream {
    uint64_t opaque[112];
} qp_image_stream_t;

// Makes `st` closed; qp_image_stream_close() on it is then a no-op. Never fails.
void qp_image_stream_init(qp_image_stream_t *st);

// Opens a decoder for section `s` (its params, sizes and hashes are copied). Output ends
// after exactly s->usize bytes, once both hashes have been checked.
// @retval QP_ERR_CORRUPT invalid params in `s`
// @retval QP_ERR_NOMEM
int qp_image_decoder_open(qp_image_stream_t *st, const qp_image_section_t *s,
                          const qp_image_config_t *cfg);

// Opens a random-access decoder: at the section start (uoff = coff = 0, any codec), or at
// a restart point of an LZMA section coded with params.restart (§4.1): output starts at
// uncompressed offset `uoff` (a multiple of params.restart), whose stream begins `coff`
// bytes into the compressed data (feed from there). The offsets come from
// qp_image_stream_restart_point() of an earlier decoder of the same section. Such a decoder
// checks that the data ends where recorded but neither computes nor checks the section's
// hashes (it may not see the whole section): the caller checks what it produces otherwise,
// as the FOTA apply does with the package's hashes of the new data.
// @retval QP_ERR_INVAL   not a restart point of this section (uoff/coff out of range,
//                        not a multiple, or the section has no restart points)
// @retval QP_ERR_CORRUPT invalid params in `s`
// @retval QP_ERR_NOMEM
int qp_image_decoder_open_at(qp_image_stream_t *st, const qp_image_section_t *s,
                             const qp_image_config_t *cfg, uint64_t uoff, uint64_t coff);

// Where the LZMA stream now being coded began (§4.1): its uncompressed and compressed
// offsets in the section. With restart points, a reader notes them as it passes to
// return later with qp_image_decoder_open_at(). (0, 0) for LZO and unopened streams.
void qp_image_stream_restart_point(qp_image_stream_t *st, uint64_t *uoff, uint64_t *coff);

// Opens an encoder with settings `p` for `usize` bytes of input: once that much has been
// fed, the encoder finishes by itself. The output equals qp_image_recompress()'s, however
// the input and output are split across calls.
// @retval QP_ERR_INVAL   invalid settings, or usize above QP_IMAGE_SECTION_MAX
// @retval QP_ERR_NOMEM
int qp_image_encoder_open(qp_image_stream_t *st, const qp_image_params_t *p,
                          uint64_t usize, const qp_image_config_t *cfg);

// Runs the coder: consumes from *in (advancing it and decreasing *in_len) and produces
// into *out (advancing it and decreasing *out_len), as much as possible. Returns 0 when
// it needs more input or output space, 1 when the stream has ended (all output produced;
// for a decoder, sizes and hashes checked). After 1, further calls return 1 and do
// nothing. A decoder given bytes past the end of the section leaves them in *in.
// @retval QP_ERR_CORRUPT decoder: bad data, too much or too little data, hash mismatch
// @retval QP_ERR_INVAL   encoder: more input than usize; or the stream is not open
// @retval QP_ERR_NOMEM
int qp_image_stream_run(qp_image_stream_t *st, const uint8_t **in, size_t *in_len,
                        uint8_t **out, size_t *out_len);

// After qp_image_stream_run() returned 1: bytes consumed and produced, and the SHA-256 of
// the uncompressed and compressed data. Any pointer may be NULL.
// @retval QP_ERR_INVAL the stream has not ended
int qp_image_stream_result(const qp_image_stream_t *st, uint64_t *usize, uint64_t *csize,
                           uint8_t usha256[QP_IMAGE_SHA256_SIZE],
                           uint8_t csha256[QP_IMAGE_SHA256_SIZE]);

// Frees the coder; `st` is closed. Accepts NULL and a closed stream.
void qp_image_stream_close(qp_image_stream_t *st);

// Decompresses section `index` of the image behind `read` to `write`, streaming with
// buffers of `bufsize` bytes (0: 16 KiB) besides the decoder; checks sizes and hashes.
// @retval QP_ERR_CORRUPT as qp_image_stream_run(); QP_ERR_RANGE no such section
// @retval other          what `read` or `write` returned
int qp_image_extract(const qp_image_info_t *info, uint32_t index, qp_image_read_fn read,
                     void *rctx, qp_image_write_fn write, void *wctx, size_t bufsize,
                     const qp_image_config_t *cfg, qp_image_diag_t *diag);

// ---------------------------------------------------------------------------------------
// App archive (§5): the `app` section's container of Python files
// ---------------------------------------------------------------------------------------

#define QP_IMAGE_ARCHIVE_MAGIC "QPAR"
#define QP_IMAGE_ARCHIVE_PATH_MAX 255u

typedef struct qp_image_archive_entry {
    const char *path;   // points into the archive; `path_len` bytes, not NUL-terminated
    uint32_t path_len;
    const uint8_t *data;
    uint32_t size;
} qp_image_archive_entry_t;

// Checks a whole archive (§5: magic, version, bounds, paths valid and strictly increasing)
// and stores its entry count in *count (may be NULL).
// @retval QP_ERR_CORRUPT a check failed
int qp_image_archive_check(const void *buf, size_t len, uint32_t *count);

// Iterates over a checked archive: *pos starts at 0; returns 1 with *e filled, 0 at the
// end. QP_ERR_CORRUPT if the archive is bad at this point.
int qp_image_archive_next(const void *buf, size_t len, size_t *pos,
                          qp_image_archive_entry_t *e);

// Archive writer: call with out == NULL to learn the size, then again with a buffer. The
// `n` entries must have valid paths (§5) and are written in the given order, which must
// be strictly increasing bytewise (sort them first).
// @retval QP_ERR_INVAL a path is invalid or out of order, or the total exceeds 4 GiB
// @retval QP_ERR_NOSPC `cap` too small
int qp_image_archive_build(const qp_image_archive_entry_t *entries, uint32_t n, void *out,
                           size_t cap, size_t *outlen);

// 1 if `path` (len bytes) is a valid archive path: 1..255 bytes of [A-Za-z0-9_.-/], no
// leading or trailing '/', no empty, "." or ".." component. Else 0.
int qp_image_archive_path_valid(const char *path, size_t len);

#endif
