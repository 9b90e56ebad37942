// mklfs_util.c - text helpers for mklfs (mklfs.h): a growable string, the JSON check for
// factory parameter files (cJSON), trimming, and SHA-256 in hex for checksum.json
// (mbedTLS, as the rest of the project hashes).
#include "mklfs.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mklfs_buf_printf(mklfs_buf_t *b, const char *fmt, ...) {
    if (b->failed) {
        return;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            break;
        }
        if (b->data && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) {
            cap *= 2;
        }
        char *more = realloc(b->data, cap);
        if (!more) {
            break;
        }
        b->data = more;
        b->cap = cap;
    }
    free(b->data);
    b->data = NULL;
    b->failed = 1;
}

int mklfs_json_valid(const char *text, size_t len) {
    cJSON *j = cJSON_ParseWithLength(text, len);
    int ok = j && (cJSON_IsObject(j) || cJSON_IsArray(j));
    cJSON_Delete(j);
    return ok;
}

char *mklfs_trim(char *s) {
    while (*s && isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

int mklfs_is_integer(const char *s) {
    if (*s == '-' || *s == '+') {
        s++;
    }
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return 0;
        }
    }
    return 1;
}

void mklfs_sha256_hex(const void *data, size_t len, char hex[65]) {
    unsigned char md[32];
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_ret(data, len, md, 0);
#else
    mbedtls_sha256(data, len, md, 0);
#endif
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
}
