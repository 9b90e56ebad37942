// fuzz_device.c - libFuzzer target for the device profile reader (src/device,
// qp_device.h): qp_device_parse(), the in-memory half of qp_device_load(), on any bytes.
//
// Seeds are profiles written by qp_device_save() plus a few hand-shaped variants
// (fuzz/mkcorpus.c). Checked besides the sanitizers': the result is 0 or QP_ERR_CORRUPT,
// a failure always explains itself in the message, and a profile that parses holds only
// what the validator allows (a known model, a Luhn-valid IMEI, NUL-terminated strings).
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "qp/qp_device.h"
#include "qp/qp_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    qp_device_profile_t p;
    char msg[256];
    msg[0] = '\0';
    int rc = qp_device_parse((const char *)data, size, "fuzz.json", &p, msg, sizeof msg);
    if (rc == 0) {
        if (!qp_device_model_find(p.model) || !qp_imei_is_valid(p.imei) ||
            memchr(p.sn, 0, sizeof p.sn) == NULL ||
            memchr(p.fw_version, 0, sizeof p.fw_version) == NULL ||
            memchr(p.manufacturer, 0, sizeof p.manufacturer) == NULL || p.heap_size < 16384 ||
            memchr(p.fota_public_key, 0, sizeof p.fota_public_key) == NULL) {
            abort();
        }
    } else if (rc != QP_ERR_CORRUPT || msg[0] == '\0' || memchr(msg, 0, sizeof msg) == NULL) {
        abort();
    }
    return 0;
}
