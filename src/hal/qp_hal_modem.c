// qp_hal_modem.c - Linux backend of the module identity (IMEI, model, SN, firmware).
//
// The real module reads these from factory NV data through the modem SDK; here the runtime
// sets them from the device profile at boot. Values are written once, before any script
// runs, and only read afterwards, so no locking is needed.
#include "qp/qp_err.h"
#include "qp/qp_hal.h"

#include <string.h>

#define VALUE_MAX 64

static char identity[QP_HAL_MODEM_FIELD_COUNT][VALUE_MAX];

int qp_hal_modem_set(qp_hal_modem_field_t field, const char *value) {
    if ((unsigned)field >= QP_HAL_MODEM_FIELD_COUNT || strlen(value) >= VALUE_MAX) {
        return QP_ERR_INVAL;
    }
    strcpy(identity[field], value);
    return 0;
}

int qp_hal_modem_get(qp_hal_modem_field_t field, char *buf, size_t buflen) {
    if ((unsigned)field >= QP_HAL_MODEM_FIELD_COUNT || !identity[field][0]) {
        return QP_ERR_NOENT;
    }
    size_t n = strlen(identity[field]);
    if (n >= buflen) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, identity[field], n + 1);
    return 0;
}
