// qp_patch_sig.h - signed packages (docs/SPEC-patch.md §3.5): an ECDSA P-256 signature over
// the package header, which holds the hash of the whole package, so that a device holding
// the publisher's public key applies only packages that publisher made, unaltered.
//
// Library qp_patch_sig, two files so that a device links only what it needs:
// qp_patch_sig.c (device: parse a public key, check a package's signature; no RNG) and
// qp_patch_sign.c (host: make a key pair, export the public key, sign a package; uses the
// system's entropy source). Both use mbedTLS's public-key code (2.28 in Debian bookworm),
// which allocates through its own calloc; qp_patch itself stays without malloc.
//
// The threat model (what a signature protects against and what it does not) is
// docs/SECURITY.md.
//
// Errors: negative errno values from qp_err.h. Thread-safety: none needed; every call is
// independent (no global state).
#ifndef QP_PATCH_SIG_H
#define QP_PATCH_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_patch.h"

#define QP_PATCH_SIG_SIZE 64u      // r || s, 32 bytes each, big-endian (SPEC-patch §3.5)
#define QP_PATCH_SIG_KEY_SIZE 65u  // an uncompressed P-256 point: 04 || X || Y

// Largest key text the parsers take (PEM of a P-256 key is about 180 (public) or 230
// (private) bytes; DER less). The device's parser copies it onto the stack.
#define QP_PATCH_SIG_PEM_MAX 1024u

// A P-256 public key, decoded and checked to be a point on the curve. Plain bytes, so it
// can be copied, kept in a struct or compared.
typedef struct qp_patch_sig_key {
    uint8_t q[QP_PATCH_SIG_KEY_SIZE];
} qp_patch_sig_key_t;

// ---------------------------------------------------------------------------------------
// Device (qp_patch_sig.c)
// ---------------------------------------------------------------------------------------

// Decodes a public key: PEM ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo, as
// `adiff --pubkey` and `openssl ec -pubout` write it) or the same in DER. `len` bytes; PEM
// need not be NUL-terminated. `key` is written only on success.
// @retval QP_ERR_INVAL  not a public key (garbage, a private key, longer than
//                       QP_PATCH_SIG_PEM_MAX)
// @retval QP_ERR_NOTSUP a public key of another kind than ECDSA P-256 (RSA, another curve)
// @retval QP_ERR_NOMEM  mbedTLS could not allocate
int qp_patch_sig_key_parse(qp_patch_sig_key_t *key, const void *text, size_t len);

// Checks the signature of the package open in `p` (qp_patch_open succeeded) against `key`:
// reads the header through the handle's pkg_read and verifies the signature over its
// digest (SPEC-patch §3.5). The header holds package_sha256, so together with a successful
// qp_patch_verify() this covers every byte of the package; either check alone does not.
// @retval QP_ERR_AUTH   the package is not signed (QP_PATCH_F_SIGNED clear), or its
//                       signature does not verify with `key` (another key, or the header was
//                       altered after signing)
// @retval QP_ERR_BADF   `p` is not open
// @retval QP_ERR_NOMEM  mbedTLS could not allocate
// and the codes of the pkg_read callback.
int qp_patch_sig_verify(qp_patch_t *p, const qp_patch_sig_key_t *key);

// ---------------------------------------------------------------------------------------
// Host (qp_patch_sign.c)
// ---------------------------------------------------------------------------------------

// Makes a new P-256 key pair and writes its private key as PEM ("-----BEGIN EC PRIVATE
// KEY-----", SEC1), NUL-terminated, into `pem` (`pemlen` bytes; 512 are enough).
// @retval QP_ERR_RANGE `pemlen` is too small
// @retval QP_ERR_IO    the system's entropy source failed
int qp_patch_sign_genkey(char *pem, size_t pemlen);

// Writes the public key of `key_text` (a private key, PEM or DER, `len` bytes; or a public
// key) as PEM ("-----BEGIN PUBLIC KEY-----"), NUL-terminated, into `pem` (`pemlen` bytes;
// 256 are enough).
// @retval QP_ERR_INVAL  not a key
// @retval QP_ERR_NOTSUP a key of another kind than ECDSA P-256
// @retval QP_ERR_RANGE  `pemlen` is too small
int qp_patch_sign_pubkey(const void *key_text, size_t len, char *pem, size_t pemlen);

// Checks that `key_text` (PEM or DER, `len` bytes) is a private key qp_patch_sign takes, so
// a tool can refuse a wrong key before the work that makes the package.
// @retval QP_ERR_INVAL  not a private key (a public key, garbage, too long)
// @retval QP_ERR_NOTSUP a key of another kind than ECDSA P-256
int qp_patch_sign_key_check(const void *key_text, size_t len);

// Signs the package `pkg` (`size` bytes, in memory) in place with the private key
// `key_text` (PEM or DER, `len` bytes): sets QP_PATCH_F_SIGNED, recomputes package_sha256
// and writes the signature (SPEC-patch §3.5). Signing a signed package replaces its
// signature. The signature is deterministic (RFC 6979): the same package and key always
// give the same bytes.
// @retval QP_ERR_INVAL   `key_text` is not a private key (a public key, garbage)
// @retval QP_ERR_NOTSUP  a key of another kind than ECDSA P-256
// @retval QP_ERR_CORRUPT `pkg` is not a package of this format, or `size` is not its size
// @retval QP_ERR_IO      the system's entropy source failed
int qp_patch_sign(uint8_t *pkg, uint32_t size, const void *key_text, size_t len);

#endif
