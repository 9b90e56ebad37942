// qp_time.h - MicroPython's time arithmetic: wrapping tick counters and calendar
// conversion for utime.
//
// Ticks wrap at QP_TICKS_PERIOD (2**30), as MicroPython's ticks_ms/us/cpu do, so scripts
// that compare ticks with ticks_diff() behave as on the device, wrap-around included.
// Calendar conversion is proleptic Gregorian on seconds since 1970-01-01 (the epoch
// QuecPython's utime uses), independent of the host's time zone and C library.
#ifndef QP_TIME_H
#define QP_TIME_H

#include <stdint.h>

#define QP_TICKS_PERIOD (1u << 30)
#define QP_TICKS_MAX (QP_TICKS_PERIOD - 1)   // 0x3FFFFFFF

// A counter value reduced to the tick period.
static inline uint32_t qp_ticks_wrap(uint64_t counter) {
    return (uint32_t)(counter & QP_TICKS_MAX);
}

// Signed distance end - start in the tick ring, in [-2**29, 2**29).
int32_t qp_ticks_diff(uint32_t end, uint32_t start);

// start + delta in the tick ring (delta may be negative).
uint32_t qp_ticks_add(uint32_t start, int64_t delta);

// Broken-down time as utime.localtime() returns it.
typedef struct qp_time_tm {
    int year;      // e.g. 2026
    int month;     // 1..12
    int mday;      // 1..31
    int hour, minute, second;
    int weekday;   // 0 = Monday .. 6 = Sunday (MicroPython)
    int yearday;   // 1..366
} qp_time_tm_t;

// Seconds since 1970 -> broken-down time.
void qp_time_to_tm(int64_t seconds, qp_time_tm_t *tm);

// Broken-down time -> seconds since 1970. Fields out of range are normalised as mktime()
// does (month 13 is January of the next year, second 60 the next minute...); weekday and
// yearday are ignored.
int64_t qp_time_from_tm(const qp_time_tm_t *tm);

#endif
