// qp_pymod.h - helpers shared by the thin CPython bindings in src/pymod.
//
// The one mapping from a library error code to a Python exception lives here, so every
// module raises the same OSError(errno) for the same failure, as MicroPython does.
#ifndef QP_PYMOD_H
#define QP_PYMOD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>

#include "qp/qp_err.h"

// CPython 3.13 made _PyLong_AsInt public as PyLong_AsInt; Debian bookworm has 3.11.
#if PY_VERSION_HEX < 0x030D0000
#define PyLong_AsInt _PyLong_AsInt
#endif

// Raises OSError for a negative qp error code and returns NULL. As MicroPython's, it
// prints as "[Errno 2] ENOENT" and e.args[0] is the errno.
static inline PyObject *qp_py_raise(int err) {
    const char *name = qp_errname(err);
    PyObject *args = name ? Py_BuildValue("(is)", -err, name) : Py_BuildValue("(i)", -err);
    if (args) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
    }
    return NULL;
}

#endif
