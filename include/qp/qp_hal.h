// qp_hal.h - the hardware abstraction the platform modules are written against.
//
// The Python bindings (src/pymod) never touch the host directly: they ask the HAL for the
// module's identity, its clock and its power control, as QuecPython's C modules ask the
// ASR SDK. The Linux backend (src/hal/*.c) implements it with the device profile, the
// monotonic clock and process re-execution; a port to real hardware replaces these files.
// UARTs have their own header, qp_hal_uart.h.
#ifndef QP_HAL_H
#define QP_HAL_H

#include <stddef.h>
#include <stdint.h>

// ---- Identity (modem.getDev*) ----------------------------------------------------------

typedef enum qp_hal_modem_field {
    QP_HAL_MODEM_IMEI,
    QP_HAL_MODEM_MODEL,
    QP_HAL_MODEM_SN,
    QP_HAL_MODEM_FW_VERSION,
    QP_HAL_MODEM_PRODUCT_ID,   // the manufacturer, "Quectel"
    QP_HAL_MODEM_FIELD_COUNT
} qp_hal_modem_field_t;

// Sets one identity value (the runtime does this at boot from the device profile). The
// string is copied. @retval QP_ERR_INVAL unknown field or value too long (63 bytes max)
int qp_hal_modem_set(qp_hal_modem_field_t field, const char *value);

// Copies one identity value into buf.
// @retval QP_ERR_NOENT the value was never set (the module reports -1, as on a module
//                      whose factory data cannot be read)
// @retval QP_ERR_RANGE buf too small
int qp_hal_modem_get(qp_hal_modem_field_t field, char *buf, size_t buflen);

// ---- Clock (utime) ---------------------------------------------------------------------

// Microseconds since the module booted (monotonic, never wraps in practice).
uint64_t qp_hal_clock_us(void);

// Seconds since 1970-01-01 00:00:00 UTC by the module's real-time clock.
int64_t qp_hal_rtc_seconds(void);

// Sleeps for `us` microseconds. Returns 0, or QP_ERR_AGAIN when a signal interrupted the
// sleep (the caller checks for KeyboardInterrupt, then calls again with the time left,
// which is written to *left_us).
int qp_hal_sleep_us(uint64_t us, uint64_t *left_us);

// ---- Power (misc.Power) ----------------------------------------------------------------

// What the platform does when a script restarts or powers down the module. The runtime
// installs these; restart re-executes the module on the same device.
typedef struct qp_hal_power_ops {
    void (*restart)(void *ctx);     // must not return
    void (*power_down)(void *ctx);  // must not return
    void *ctx;
} qp_hal_power_ops_t;

void qp_hal_power_set_ops(const qp_hal_power_ops_t *ops);

// Reasons, as misc.Power documents them: power-on 0 unknown, 1 PWRKEY, 2 RESET, 3 VBAT,
// 4 RTC, 5 watchdog, 6 VBUS, 7 charging, 8 PSM wake, 9 reboot after dump; power-down
// 0 unknown, 1 normal, 2 high voltage, 3 low voltage, 4 high temperature, 5 watchdog,
// 6 low VRTC.
#define QP_HAL_POWER_ON_PWRKEY 1
#define QP_HAL_POWER_ON_RESET 2
#define QP_HAL_POWER_DOWN_UNKNOWN 0
#define QP_HAL_POWER_DOWN_NORMAL 1
void qp_hal_power_set_reasons(int power_on_reason, int power_down_reason);
int qp_hal_power_on_reason(void);
int qp_hal_power_down_reason(void);

// Battery voltage in mV. The virtual module sits on a USB-powered development board,
// whose regulator holds VBAT at 3.8 V.
#define QP_HAL_VBATT_MV 3800
int qp_hal_power_vbatt_mv(void);

// Restarts / powers down through the installed ops. Returns QP_ERR_NOTSUP only when no
// ops are installed; otherwise it does not return.
int qp_hal_power_restart(void);
int qp_hal_power_down(void);

// ---- Storage (uos, uio) ---------------------------------------------------------------

// The module's file namespace (/usr, /bak), set by the runtime once the flash is mounted;
// NULL when the module runs without storage. The bindings call into it with the GIL held,
// which is what serialises access (qp_vfs is not thread-safe).
struct qp_vfs;
void qp_hal_storage_set(struct qp_vfs *vfs);
struct qp_vfs *qp_hal_storage(void);

// The device storage behind that namespace (struct qp_storage, qp_storage.h), for the
// partitions scripts mount themselves (uos.VfsLfs1/VfsLfs2, uos.mount, uos.umount); set
// and cleared with it.
struct qp_storage;
void qp_hal_volumes_set(struct qp_storage *st);
struct qp_storage *qp_hal_volumes(void);

// Fills buf with n bytes from the host's random source (uos.urandom).
// @retval QP_ERR_IO the source failed
int qp_hal_random(void *buf, size_t n);

#endif
