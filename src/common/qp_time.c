// qp_time.c - tick ring arithmetic and calendar conversion (see qp_time.h).
//
// The calendar uses the days-from-civil algorithm (era of 400 years = 146097 days), which
// is exact for every representable year and needs no tables or time-zone database.
#include "qp/qp_time.h"

int32_t qp_ticks_diff(uint32_t end, uint32_t start) {
    // MicroPython: ((end - start + PERIOD/2) & (PERIOD-1)) - PERIOD/2
    uint32_t half = QP_TICKS_PERIOD / 2;
    return (int32_t)(((end - start + half) & QP_TICKS_MAX)) - (int32_t)half;
}

uint32_t qp_ticks_add(uint32_t start, int64_t delta) {
    return (uint32_t)(((uint64_t)start + (uint64_t)delta) & QP_TICKS_MAX);
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void qp_time_to_tm(int64_t seconds, qp_time_tm_t *tm) {
    int64_t days = floor_div(seconds, 86400);
    int64_t rem = seconds - days * 86400;
    tm->hour = (int)(rem / 3600);
    tm->minute = (int)(rem % 3600 / 60);
    tm->second = (int)(rem % 60);
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    tm->weekday = (int)((days % 7 + 7 + 3) % 7);

    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    tm->year = (int)y;
    tm->month = (int)m;
    tm->mday = (int)d;
    tm->yearday = (int)(days - days_from_civil(y, 1, 1) + 1);
}

int64_t qp_time_from_tm(const qp_time_tm_t *tm) {
    // Normalise the month first so that days_from_civil sees 1..12.
    int64_t month0 = (int64_t)tm->month - 1;
    int64_t year = tm->year + floor_div(month0, 12);
    month0 -= floor_div(month0, 12) * 12;
    int64_t days = days_from_civil(year, month0 + 1, 1) + tm->mday - 1;
    return days * 86400 + (int64_t)tm->hour * 3600 + (int64_t)tm->minute * 60 + tm->second;
}
