// qp_runtime_internal.h - what the runtime's own files share (not a public API).
#ifndef QP_RUNTIME_INTERNAL_H
#define QP_RUNTIME_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qp/qp_heap.h"
#include "qp/qp_runtime.h"

// Host bytes a script's data takes in CPython per byte it takes in MicroPython on the
// 32-bit module, times 100. Measured with bench/heap_factor (docs/heap.md).
#define QP_HEAP_HOST_PER_DEVICE_X100 250

// Installs the budgeted allocator; `budget` in device bytes (see qp_pyalloc.c).
void qp_pyalloc_install(size_t budget);
qp_heap_t *qp_pyalloc_heap(void);

// The configuration the module booted with, for _qp_runtime.
const qp_runtime_config_t *qp_runtime_config(void);

PyMODINIT_FUNC PyInit__qp_runtime(void);

#endif
