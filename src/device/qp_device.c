// qp_device.c - device directory and profile (device.json) of a virtual module.
//
// Host-only: uses POSIX file calls and cJSON. The format is documented in
// docs/SPEC-device.md. Validation is strict on load because the profile is user-editable:
// a typo must produce "device.json: field 'imei': ..." rather than a module with a broken
// identity.
#include "device_internal.h"
#include "qp/qp_device.h"
#include "qp/qp_err.h"
#include "qp/qp_patch_sig.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// The seed's module carries IMEI 868540050393723: TAC 86854005 is Quectel's. No public
// source gives the EC100Y's own TAC, so it uses the same one.
static const qp_device_model_t models[] = {
    {"EC600S", "86854005", "EC600SCNAAR01A01M16_OCPU_PY", 748032},
    {"EC100Y", "86854005", "EC100YCNAAR01A01M16_OCPU_PY", 748032},
};

// Largest profile we accept; a real one is about 300 bytes.
#define PROFILE_MAX_BYTES 65536

int qp_device_fail(int err, char *msg, size_t msglen, const char *fmt, ...) {
                   if (msg && msglen) {
                   va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return err;
}

const qp_device_model_t *qp_device_model_find(const char *name) {
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        if (strcmp(models[i].name, name) == 0) {
            return &models[i];
        }
    }
    return NULL;
}

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int qp_imei_check_digit(const char *digits14) {
    if (strlen(digits14) < 14 || !all_digits(digits14, 14)) {
        return QP_ERR_INVAL;
    }
    // Luhn: double every second digit counting from the right of the 15-digit number,
    // i.e. the digits at odd 0-based positions of the 14.
    int sum = 0;
    for (int i = 0; i < 14; i++) {
        int d = digits14[i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    return '0' + (10 - sum % 10) % 10;
}

int qp_imei_is_valid(const char *imei) {
    return strlen(imei) == QP_IMEI_LEN && all_digits(imei, QP_IMEI_LEN)
        && qp_imei_check_digit(imei) == imei[14];
}

static int copy_field(char *dst, size_t dstlen, const char *src) {
    size_t n = strlen(src);
    if (n == 0 || n >= dstlen) {
        return QP_ERR_INVAL;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

// A printable, non-empty string with no spaces: what fits on a label or in an AT reply.
static int is_label_text(const char *s) {
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!isgraph((unsigned char)*s)) {
            return 0;
        }
    }
    return 1;
}

// The FOTA key (SPEC-patch §3.5): a P-256 public key in PEM that fits the profile.
static const char key_rule[] = "need an ECDSA P-256 public key in PEM (adiff --pubkey writes one)";

static int set_key(qp_device_profile_t *p, const char *pem) {
    qp_patch_sig_key_t k;
    if (copy_field(p->fota_public_key, sizeof p->fota_public_key, pem) < 0 ||
        qp_patch_sig_key_parse(&k, pem, strlen(pem)) < 0) {
        return QP_ERR_INVAL;
    }
    return 0;
}

int qp_device_profile_make(qp_device_profile_t *profile, const qp_device_options_t *opts,
                           uint64_t random, char *msg, size_t msglen) {
    const char *model_name = opts->model ? opts->model : "EC600S";
    const qp_device_model_t *model = qp_device_model_find(model_name);
    if (!model) {
        return qp_device_fail(QP_ERR_INVAL, msg, msglen,
                              "unknown model '%s' (supported: EC600S, EC100Y)", model_name);
    }
    qp_device_profile_t p;
    memset(&p, 0, sizeof p);
    strcpy(p.model, model->name);
    strcpy(p.manufacturer, "Quectel");
    p.heap_size = model->heap_size;

    if (opts->imei) {
        if (!qp_imei_is_valid(opts->imei)) {
            return qp_device_fail(QP_ERR_INVAL, msg, msglen, "invalid IMEI '%s': need 15 "
                                  "digits ending in a valid Luhn check digit", opts->imei);
        }
        strcpy(p.imei, opts->imei);
    } else {
        // TAC + 6-digit serial from the random value + check digit.
        snprintf(p.imei, sizeof p.imei, "%s%06u", model->tac,
                 (unsigned)(random % 1000000u));
        p.imei[14] = (char)qp_imei_check_digit(p.imei);
        p.imei[15] = '\0';
    }

    if (opts->sn) {
        if (!is_label_text(opts->sn) || copy_field(p.sn, sizeof p.sn, opts->sn) < 0) {
            return qp_device_fail(QP_ERR_INVAL, msg, msglen,
                                  "invalid serial number '%s': need 1 to %zu printable characters "
                                  "without spaces", opts->sn, sizeof p.sn - 1);
        }
    } else {
        // Quectel labels look like D1D20J60A0017870P: a fixed-looking prefix, a 7-digit
        // running number and a letter.
        uint64_t r = random / 1000000u;
        snprintf(p.sn, sizeof p.sn, "D1D20J60A%07u%c", (unsigned)(r % 10000000u),
                 (char)('A' + (r / 10000000u) % 26));
    }

    p.usr_lfs_version = p.bak_lfs_version = 1;
    if (opts->lfs_version) {
        if (strcmp(opts->lfs_version, "1") != 0 && strcmp(opts->lfs_version, "2") != 0) {
            return qp_device_fail(QP_ERR_INVAL, msg, msglen, "invalid littlefs version '%s': "
                                  "give 1 (what the %s firmware formats) or 2",
                                  opts->lfs_version, model->name);
        }
        p.usr_lfs_version = p.bak_lfs_version = (uint8_t)(opts->lfs_version[0] - '0');
    }

    const char *fw = opts->fw_version ? opts->fw_version : model->default_fw_version;
    if (!is_label_text(fw) || copy_field(p.fw_version, sizeof p.fw_version, fw) < 0) {
        return qp_device_fail(QP_ERR_INVAL, msg, msglen,
                              "invalid firmware version '%s': need 1 to %zu printable characters "
                              "without spaces", fw, sizeof p.fw_version - 1);
    }
    if (opts->fota_public_key && set_key(&p, opts->fota_public_key) < 0) {
        return qp_device_fail(QP_ERR_INVAL, msg, msglen, "invalid FOTA public key: %s",
                              key_rule);
    }
    *profile = p;
    return 0;
}

static void profile_path(char *out, size_t outlen, const char *dir) {
    snprintf(out, outlen, "%s/%s", dir, QP_DEVICE_PROFILE_NAME);
}

static int errno_to_err(int e) {
    switch (e) {
    case ENOENT: return QP_ERR_NOENT;
    case EACCES: case EPERM: return QP_ERR_ACCES;
    case ENOTDIR: return QP_ERR_NOTDIR;
    case EEXIST: return QP_ERR_EXIST;
    case ENOSPC: return QP_ERR_NOSPC;
    case EROFS: return QP_ERR_ROFS;
    default: return QP_ERR_IO;
    }
}

static int mkdir_parents(const char *dir) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        return QP_ERR_NAMETOOLONG;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                return errno_to_err(errno);
            }
            *p = '/';
        }
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        return errno_to_err(errno);
    }
    return 0;
}

int qp_device_create(const char *dir, const qp_device_profile_t *profile, char *msg,
                     size_t msglen) {
    char path[4096];
    profile_path(path, sizeof path, dir);
    if (access(path, F_OK) == 0) {
        return qp_device_fail(QP_ERR_EXIST, msg, msglen, "%s: a device already exists here", path);
    }
    int err = mkdir_parents(dir);
    if (err < 0) {
        return qp_device_fail(err, msg, msglen, "%s: cannot create directory: %s", dir,
                              qp_strerror(err));
    }
    return qp_device_save(dir, profile, msg, msglen);
}

int qp_device_save(const char *dir, const qp_device_profile_t *p, char *msg, size_t msglen) {
    char path[4096], tmp[4200];
    profile_path(path, sizeof path, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    cJSON *root = cJSON_CreateObject();
    if (!root) {
        return qp_device_fail(QP_ERR_NOMEM, msg, msglen, "out of memory");
    }
    int ok = cJSON_AddNumberToObject(root, "format", QP_DEVICE_PROFILE_FORMAT)
          && cJSON_AddStringToObject(root, "model", p->model)
          && cJSON_AddStringToObject(root, "manufacturer", p->manufacturer)
          && cJSON_AddStringToObject(root, "imei", p->imei)
          && cJSON_AddStringToObject(root, "sn", p->sn)
          && cJSON_AddStringToObject(root, "fw_version", p->fw_version)
          && cJSON_AddNumberToObject(root, "heap_size", p->heap_size);
    cJSON *lfs = ok ? cJSON_AddObjectToObject(root, "lfs_version") : NULL;
    ok = lfs && cJSON_AddNumberToObject(lfs, "customer_fs", p->usr_lfs_version)
         && cJSON_AddNumberToObject(lfs, "customer_backup_fs", p->bak_lfs_version);
    if (ok && p->fota_public_key[0]) {
        ok = cJSON_AddStringToObject(root, "fota_public_key", p->fota_public_key) != NULL;
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        return qp_device_fail(QP_ERR_NOMEM, msg, msglen, "out of memory");
    }

    int err = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = errno_to_err(errno);
        free(text);
        return qp_device_fail(err, msg, msglen, "%s: cannot write: %s", tmp, qp_strerror(err));
    }
    size_t len = strlen(text);
    text[len] = '\0';
    if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        err = errno_to_err(errno);
    }
    free(text);
    if (close(fd) < 0 && !err) {
        err = errno_to_err(errno);
    }
    if (!err && rename(tmp, path) < 0) {
        err = errno_to_err(errno);
    }
    if (err) {
        unlink(tmp);
        return qp_device_fail(err, msg, msglen, "%s: cannot write: %s", path, qp_strerror(err));
    }
    return 0;
}

// Reads string field `name` into dst; on error explains which field and why.
static int load_string(const cJSON *root, const char *name, char *dst, size_t dstlen,
                       const char *path, char *msg, size_t msglen) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!item) {
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field '%s' is missing", path, name);
    }
    if (!cJSON_IsString(item)) {
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field '%s' must be a string", path,
                              name);
    }
    if (!is_label_text(item->valuestring) || strlen(item->valuestring) >= dstlen) {
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                              "%s: field '%s' must be 1 to %zu printable characters without spaces",
                              path, name, dstlen - 1);
    }
    strcpy(dst, item->valuestring);
    return 0;
}

// Reads the optional "lfs_version" object: {"customer_fs": 1|2, "customer_backup_fs": 1|2},
// each partition 1 when not named (profiles from before the field keep littlefs v1).
static int load_lfs_versions(const cJSON *root, qp_device_profile_t *p, const char *path,
                             char *msg, size_t msglen) {
    p->usr_lfs_version = p->bak_lfs_version = 1;
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "lfs_version");
    if (!obj) {
        return 0;
    }
    if (!cJSON_IsObject(obj)) {
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field 'lfs_version' must be an "
                              "object such as {\"customer_fs\": 1, \"customer_backup_fs\": 1}",
                              path);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        uint8_t *slot = strcmp(item->string, "customer_fs") == 0          ? &p->usr_lfs_version
                      : strcmp(item->string, "customer_backup_fs") == 0 ? &p->bak_lfs_version
                                                                          : NULL;
        if (!slot) {
            return qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field 'lfs_version': no "
                                  "file-system partition '%s' (customer_fs, customer_backup_fs)",
                                  path, item->string);
        }
        if (!cJSON_IsNumber(item) || (item->valuedouble != 1 && item->valuedouble != 2)) {
            return qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field 'lfs_version': '%s' "
                                  "must be 1 (littlefs v1) or 2 (littlefs v2)", path,
                                  item->string);
        }
        *slot = (uint8_t)item->valuedouble;
    }
    return 0;
}

static int read_whole_file(const char *path, char **out, char *msg, size_t msglen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno_to_err(errno);
        return qp_device_fail(err, msg, msglen, "%s: cannot open: %s", path, qp_strerror(err));
    }
    char *buf = malloc(PROFILE_MAX_BYTES + 1);
    if (!buf) {
        close(fd);
        return qp_device_fail(QP_ERR_NOMEM, msg, msglen, "out of memory");
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, PROFILE_MAX_BYTES + 1 - len);
        if (n < 0) {
            int err = errno == EISDIR ? QP_ERR_ISDIR : errno_to_err(errno);
            close(fd);
            free(buf);
            return qp_device_fail(err, msg, msglen, "%s: cannot read: %s", path, qp_strerror(err));
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > PROFILE_MAX_BYTES) {
            close(fd);
            free(buf);
            return qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                                  "%s: larger than %d bytes, not a device profile", path,
                                  PROFILE_MAX_BYTES);
        }
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int qp_device_parse(const char *text, size_t len, const char *name,
                     qp_device_profile_t *profile, char *msg, size_t msglen) {
    const char *path = name ? name : QP_DEVICE_PROFILE_NAME;
    // cJSON_ParseWithLength stops at `len`, so the text need not be NUL-terminated.
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        // cJSON reports where parsing stopped; turn that into a line number.
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = 1;
        for (const char *c = text; at && c < at && c < text + len; c++) {
            line += *c == '\n';
        }
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                              "%s: not valid JSON (near line %d)", path, line);
    }

    int err;
    qp_device_profile_t p;
    memset(&p, 0, sizeof p);
    if (!cJSON_IsObject(root)) {
        err = qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: must hold a JSON object", path);
        goto cleanup;
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsNumber(format) || format->valuedouble != QP_DEVICE_PROFILE_FORMAT) {
        err = qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                             "%s: field 'format' must be %d (this qpy reads profile format %d)",
                             path, QP_DEVICE_PROFILE_FORMAT, QP_DEVICE_PROFILE_FORMAT);
        goto cleanup;
    }
    if ((err = load_string(root, "model", p.model, sizeof p.model, path, msg, msglen)) < 0
        || (err = load_string(root, "manufacturer", p.manufacturer, sizeof p.manufacturer,
                              path, msg, msglen)) < 0
        || (err = load_string(root, "imei", p.imei, sizeof p.imei, path, msg, msglen)) < 0
        || (err = load_string(root, "sn", p.sn, sizeof p.sn, path, msg, msglen)) < 0
        || (err = load_string(root, "fw_version", p.fw_version, sizeof p.fw_version, path,
                              msg, msglen)) < 0) {
        goto cleanup;
    }
    if (!qp_device_model_find(p.model)) {
        err = qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                             "%s: field 'model': unknown model '%s' (supported: EC600S, EC100Y)",
                             path, p.model);
        goto cleanup;
    }
    if (!qp_imei_is_valid(p.imei)) {
        err = qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field 'imei': '%s' is not 15 "
                             "digits with a valid Luhn check digit", path, p.imei);
        goto cleanup;
    }
    const cJSON *heap = cJSON_GetObjectItemCaseSensitive(root, "heap_size");
    // Below 16 KiB not even the REPL fits; above 64 MiB is no longer a module of this class.
    if (!cJSON_IsNumber(heap) || heap->valuedouble < 16384 || heap->valuedouble > 67108864
        || heap->valuedouble != (double)(uint32_t)heap->valuedouble) {
        err = qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                             "%s: field 'heap_size' must be a whole number of bytes from 16384 to "
                             "67108864", path);
        goto cleanup;
    }
    p.heap_size = (uint32_t)heap->valuedouble;
    if ((err = load_lfs_versions(root, &p, path, msg, msglen)) < 0) {
        goto cleanup;
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "fota_public_key");
    if (key && (!cJSON_IsString(key) || set_key(&p, key->valuestring) < 0)) {
        err = qp_device_fail(QP_ERR_CORRUPT, msg, msglen, "%s: field 'fota_public_key': %s",
                             path, key_rule);
        goto cleanup;
    }
    *profile = p;
    err = 0;
cleanup:
    cJSON_Delete(root);
    return err;
}

int qp_device_load(const char *dir, qp_device_profile_t *profile, char *msg, size_t msglen) {
    char path[4096];
    struct stat st;
    if (stat(dir, &st) < 0) {
        int err = errno_to_err(errno);
        return qp_device_fail(err, msg, msglen, "%s: no device here (%s)", dir, qp_strerror(err));
    }
    if (!S_ISDIR(st.st_mode)) {
        return qp_device_fail(QP_ERR_NOTDIR, msg, msglen, "%s: not a device directory", dir);
    }
    profile_path(path, sizeof path, dir);
    char *text = NULL;
    int err = read_whole_file(path, &text, msg, msglen);
    if (err < 0) {
        return err;
    }
    err = qp_device_parse(text, strlen(text), path, profile, msg, msglen);
    free(text);
    return err;
}
