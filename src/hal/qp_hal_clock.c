// qp_hal_clock.c - Linux backend of the module's clocks: ticks since boot and the RTC.
//
// Ticks come from CLOCK_MONOTONIC relative to the first call (the runtime calls it at
// boot), so utime.ticks_ms() starts near 0 as on a freshly booted module and wraps as
// MicroPython's do. The RTC is the host's wall clock.
#include "qp/qp_err.h"
#include "qp/qp_hal.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static struct timespec boot_time;
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

static void record_boot_time(void) {
    clock_gettime(CLOCK_MONOTONIC, &boot_time);
}

uint64_t qp_hal_clock_us(void) {
    pthread_once(&boot_once, record_boot_time);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns = (int64_t)(now.tv_sec - boot_time.tv_sec) * 1000000000
               + (now.tv_nsec - boot_time.tv_nsec);
    return (uint64_t)(ns / 1000);
}

int64_t qp_hal_rtc_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec;
}

int qp_hal_sleep_us(uint64_t us, uint64_t *left_us) {
    struct timespec req = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    struct timespec rem = {0, 0};
    if (nanosleep(&req, &rem) == 0) {
        return 0;
    }
    // Only EINTR is possible with a valid request: hand back what is left.
    if (left_us) {
        *left_us = (uint64_t)rem.tv_sec * 1000000 + (uint64_t)rem.tv_nsec / 1000;
    }
    return errno == EINTR ? QP_ERR_AGAIN : QP_ERR_INVAL;
}
