// qp_device.h - a virtual module's identity: the device directory and its profile.
//
// A device is a directory. Its profile, `device.json` (docs/SPEC-device.md), holds what the
// real module keeps in its factory data: model, manufacturer, IMEI, serial number, firmware
// version and the heap a script gets. Later parts of the platform (flash image, FOTA state)
// live in the same directory. The library reads and writes the profile with cJSON and never
// exits or prints: every failure is a negative error code plus a message naming the file and
// the field, for the program to show.
#ifndef QP_DEVICE_H
#define QP_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#define QP_DEVICE_PROFILE_NAME "device.json"
#define QP_DEVICE_PROFILE_FORMAT 1   // "format" field; bumped on incompatible changes
#define QP_IMEI_LEN 15
#define QP_IMEI_TAC_LEN 8
#define QP_DEVICE_KEY_MAX 512        // bytes of fota_public_key PEM text, NUL included

typedef struct qp_device_profile {
    char model[16];          // "EC600S" or "EC100Y"
    char manufacturer[32];   // "Quectel": what modem.getDevProductId() returns
    char imei[QP_IMEI_LEN + 1];
    char sn[32];             // serial number as printed on the label
    char fw_version[64];     // what modem.getDevFwVersion() returns
    uint32_t heap_size;      // device bytes free to scripts at the REPL (EC600S: 748032)
    // littlefs major version (1 or 2) each file-system partition is formatted with when
    // it holds none ("lfs_version" in device.json; 1, what the EC600S and EC100Y
    // firmware formats, when absent). Mounting detects either version.
    uint8_t usr_lfs_version; // customer_fs, /usr
    uint8_t bak_lfs_version; // customer_backup_fs, /bak
    // The public key FOTA packages must be signed with, PEM text ("fota_public_key" in
    // device.json, optional); empty: unsigned packages are accepted. Checked to be an
    // ECDSA P-256 public key (SPEC-patch §3.5; docs/SECURITY.md).
    char fota_public_key[QP_DEVICE_KEY_MAX];
} qp_device_profile_t;

// What `qpy device new` may set; NULL fields get the model's defaults (random IMEI serial
// part and SN).
typedef struct qp_device_options {
    const char *model;       // NULL: "EC600S"
    const char *imei;        // NULL: Quectel TAC + random serial + Luhn digit
    const char *sn;          // NULL: random, in Quectel's 17-character label format
    const char *fw_version;  // NULL: the model's default firmware version
    const char *lfs_version; // "1" or "2" for both partitions; NULL: "1"
    const char *fota_public_key; // PEM text of a P-256 public key; NULL: none
} qp_device_options_t;

// Fills `profile` from `opts` without touching the disk. `random` feeds the IMEI serial
// part and the SN (pass a fresh random value; tests pass a fixed one).
// @retval QP_ERR_INVAL an option is invalid (message says which and why)
int qp_device_profile_make(qp_device_profile_t *profile, const qp_device_options_t *opts,
                           uint64_t random, char *msg, size_t msglen);

// Creates directory `dir` (and parents) holding a new profile.
// @retval QP_ERR_EXIST `dir` already holds a profile
// @retval QP_ERR_IO/QP_ERR_ACCES the directory or file could not be written
int qp_device_create(const char *dir, const qp_device_profile_t *profile, char *msg,
                     size_t msglen);

// Reads and validates `dir`/device.json.
// @retval QP_ERR_NOENT  no device (no directory, or no profile in it)
// @retval QP_ERR_CORRUPT the profile is not valid JSON, or a field is missing or invalid;
//                        the message names the file and the field
// @retval QP_ERR_ACCES/QP_ERR_IO the file cannot be read
int qp_device_load(const char *dir, qp_device_profile_t *profile, char *msg, size_t msglen);

// Parses and validates a profile held in memory: `len` bytes of JSON text (need not be
// NUL-terminated). `name` is what messages call the source (NULL: "device.json").
// qp_device_load() reads the file and calls this.
// @retval QP_ERR_CORRUPT as qp_device_load()
int qp_device_parse(const char *text, size_t len, const char *name,
                    qp_device_profile_t *profile, char *msg, size_t msglen);

// Writes `profile` to `dir`/device.json atomically (temporary file, fsync, rename), so a
// crash leaves the old or the new profile.
int qp_device_save(const char *dir, const qp_device_profile_t *profile, char *msg,
                   size_t msglen);

// The Luhn check digit ('0'..'9') for the first 14 digits of an IMEI, or QP_ERR_INVAL when
// they are not 14 decimal digits.
int qp_imei_check_digit(const char *digits14);

// 1 when `imei` is 15 decimal digits with a valid check digit, else 0.
int qp_imei_is_valid(const char *imei);

// Default model parameters. Returns NULL for an unknown model.
typedef struct qp_device_model {
    const char *name;
    const char *tac;              // 8-digit Type Allocation Code for generated IMEIs
    const char *default_fw_version;
    uint32_t heap_size;
} qp_device_model_t;
const qp_device_model_t *qp_device_model_find(const char *name);

#endif
