// qp_hal_power.c - Linux backend of the module's power control (misc.Power).
//
// Restart and power-down are carried out by the runtime (it re-executes the process on
// the same device, or ends it); this file only holds the installed operations and the
// boot reasons the runtime recorded, so the bindings need no knowledge of the runtime.
#include "qp/qp_err.h"
#include "qp/qp_hal.h"

static qp_hal_power_ops_t power_ops;
static int on_reason = QP_HAL_POWER_ON_PWRKEY;
static int down_reason = QP_HAL_POWER_DOWN_UNKNOWN;

void qp_hal_power_set_ops(const qp_hal_power_ops_t *ops) {
    power_ops = *ops;
}

void qp_hal_power_set_reasons(int power_on_reason, int power_down_reason) {
    on_reason = power_on_reason;
    down_reason = power_down_reason;
}

int qp_hal_power_on_reason(void) {
    return on_reason;
}

int qp_hal_power_down_reason(void) {
    return down_reason;
}

int qp_hal_power_vbatt_mv(void) {
    return QP_HAL_VBATT_MV;
}

int qp_hal_power_restart(void) {
    if (!power_ops.restart) {
        return QP_ERR_NOTSUP;
    }
    power_ops.restart(power_ops.ctx);
    return QP_ERR_NOTSUP; // not reached: restart does not return
}

int qp_hal_power_down(void) {
    if (!power_ops.power_down) {
        return QP_ERR_NOTSUP;
    }
    power_ops.power_down(power_ops.ctx);
    return QP_ERR_NOTSUP;
}
