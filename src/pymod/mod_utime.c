// mod_utime.c - the `utime` module: sleeps, wrapping tick counters and the calendar, with
// MicroPython's names and semantics (ticks wrap at 2**30; localtime is an 8-tuple with
// weekday 0 = Monday) plus QuecPython's getTimeZone/setTimeZone.
//
// Arithmetic lives in qp_time (unit-tested); clocks and sleeping in the HAL. Sleeps
// release the GIL so other threads run, and wake for Ctrl-C (KeyboardInterrupt).
#include "qp_pymod.h"

#include "qp/qp_err.h"
#include "qp/qp_hal.h"
#include "qp/qp_time.h"

typedef struct {
    int timezone_hours;  // offset of local time from UTC, -12..12
} utime_state;

static utime_state *get_state(PyObject *module) {
    return (utime_state *)PyModule_GetState(module);
}

static PyObject *sleep_for_us(uint64_t us) {
    for (;;) {
        uint64_t left = 0;
        int err;
        Py_BEGIN_ALLOW_THREADS
        err = qp_hal_sleep_us(us, &left);
        Py_END_ALLOW_THREADS
        if (err != QP_ERR_AGAIN) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            return NULL;
        }
        us = left;
    }
    Py_RETURN_NONE;
}

static PyObject *utime_sleep(PyObject *module, PyObject *arg) {
    (void)module;
    double seconds = PyFloat_AsDouble(arg);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (seconds < 0) {
        PyErr_SetString(PyExc_ValueError, "sleep length must be non-negative");
        return NULL;
    }
    return sleep_for_us((uint64_t)(seconds * 1e6));
}

static PyObject *sleep_scaled(PyObject *arg, uint64_t us_per_unit) {
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    // MicroPython treats a negative delay as no delay.
    return sleep_for_us(n > 0 ? (uint64_t)n * us_per_unit : 0);
}

static PyObject *utime_sleep_ms(PyObject *module, PyObject *arg) {
    (void)module;
    return sleep_scaled(arg, 1000);
}

static PyObject *utime_sleep_us(PyObject *module, PyObject *arg) {
    (void)module;
    return sleep_scaled(arg, 1);
}

static PyObject *utime_ticks_ms(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return PyLong_FromUnsignedLong(qp_ticks_wrap(qp_hal_clock_us() / 1000));
}

static PyObject *utime_ticks_us(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return PyLong_FromUnsignedLong(qp_ticks_wrap(qp_hal_clock_us()));
}

static int parse_tick(PyObject *obj, uint32_t *out) {
    long long v = PyLong_AsLongLong(obj);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = qp_ticks_wrap((uint64_t)v);
    return 0;
}

static PyObject *utime_ticks_diff(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    uint32_t end, start;
    if (!_PyArg_CheckPositional("ticks_diff", nargs, 2, 2) || parse_tick(args[0], &end) < 0
        || parse_tick(args[1], &start) < 0) {
        return NULL;
    }
    return PyLong_FromLong(qp_ticks_diff(end, start));
}

static PyObject *utime_ticks_add(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    uint32_t start;
    if (!_PyArg_CheckPositional("ticks_add", nargs, 2, 2) || parse_tick(args[0], &start) < 0) {
        return NULL;
    }
    long long delta = PyLong_AsLongLong(args[1]);
    if (delta == -1 && PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromUnsignedLong(qp_ticks_add(start, delta));
}

static PyObject *utime_time(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return PyLong_FromLongLong(qp_hal_rtc_seconds());
}

static PyObject *utime_localtime(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("localtime", nargs, 0, 1)) {
        return NULL;
    }
    int64_t seconds;
    if (nargs == 0 || args[0] == Py_None) {
        seconds = qp_hal_rtc_seconds();
    } else {
        seconds = PyLong_AsLongLong(args[0]);
        if (seconds == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    qp_time_tm_t tm;
    qp_time_to_tm(seconds + (int64_t)get_state(module)->timezone_hours * 3600, &tm);
    return Py_BuildValue("(iiiiiiii)", tm.year, tm.month, tm.mday, tm.hour, tm.minute,
                         tm.second, tm.weekday, tm.yearday);
}

static PyObject *utime_mktime(PyObject *module, PyObject *arg) {
    if (!PyTuple_Check(arg) || PyTuple_GET_SIZE(arg) < 6 || PyTuple_GET_SIZE(arg) > 9) {
        PyErr_SetString(PyExc_TypeError, "mktime needs a tuple of 6 to 9 integers");
        return NULL;
    }
    int f[6];
    for (int i = 0; i < 6; i++) {
        f[i] = PyLong_AsInt(PyTuple_GET_ITEM(arg, i));
        if (f[i] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    qp_time_tm_t tm = {.year = f[0], .month = f[1], .mday = f[2], .hour = f[3],
                       .minute = f[4], .second = f[5]};
    return PyLong_FromLongLong(qp_time_from_tm(&tm)
                               - (int64_t)get_state(module)->timezone_hours * 3600);
}

static PyObject *utime_getTimeZone(PyObject *module, PyObject *unused) {
    (void)unused;
    return PyLong_FromLong(get_state(module)->timezone_hours);
}

static PyObject *utime_setTimeZone(PyObject *module, PyObject *arg) {
    int hours = PyLong_AsInt(arg);
    if (hours == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (hours < -12 || hours > 12) {
        PyErr_SetString(PyExc_ValueError, "offset must be -12 to 12 hours");
        return NULL;
    }
    get_state(module)->timezone_hours = hours;
    return PyLong_FromLong(0);
}

static PyMethodDef utime_methods[] = {
    {"localtime", (PyCFunction)(void (*)(void))utime_localtime, METH_FASTCALL, NULL},
    {"mktime", utime_mktime, METH_O, NULL},
    {"sleep", utime_sleep, METH_O, NULL},
    {"sleep_ms", utime_sleep_ms, METH_O, NULL},
    {"sleep_us", utime_sleep_us, METH_O, NULL},
    {"ticks_ms", utime_ticks_ms, METH_NOARGS, NULL},
    {"ticks_us", utime_ticks_us, METH_NOARGS, NULL},
    // MicroPython's ticks_cpu is the finest counter available; here that is microseconds.
    {"ticks_cpu", utime_ticks_us, METH_NOARGS, NULL},
    {"ticks_add", (PyCFunction)(void (*)(void))utime_ticks_add, METH_FASTCALL, NULL},
    {"ticks_diff", (PyCFunction)(void (*)(void))utime_ticks_diff, METH_FASTCALL, NULL},
    {"time", utime_time, METH_NOARGS, NULL},
    {"getTimeZone", utime_getTimeZone, METH_NOARGS, NULL},
    {"setTimeZone", utime_setTimeZone, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot utime_slots[] = {
    {0, NULL},
};

static struct PyModuleDef utime_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "utime",
    .m_size = sizeof(utime_state),
    .m_methods = utime_methods,
    .m_slots = utime_slots,
};

PyMODINIT_FUNC PyInit_utime(void);
PyMODINIT_FUNC PyInit_utime(void) {
    return PyModuleDef_Init(&utime_module);
}
