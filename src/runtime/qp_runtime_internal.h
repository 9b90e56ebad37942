// qp_runtime_internal.h - what the runtime's own files share (not a public API).
#ifndef QP_RUNTIME_INTERNAL_H
#define QP_RUNTIME_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qp/qp_firmware.h"
#include "qp/qp_heap.h"
#include "qp/qp_runtime.h"

// The heap cost model (docs/heap.md): blocks below QP_HEAP_LARGE_BLOCK host bytes are
// objects and pointer arrays, QP_HEAP_SMALL_RATIO_X100 / 100 times bigger in 64-bit
// CPython than in MicroPython on the 32-bit module (fitted with bench/heap_factor.sh);
// larger blocks are payloads (string, bytes, buffer contents) and cost the same on both.
// 512 is where pymalloc hands over to the system allocator, i.e. where CPython itself
// stops treating blocks as small objects. An int below 2**30 is a tagged small int in
// MicroPython and takes no heap; CPython 3.11 asks for 28 bytes (header, size, one 30-bit
// digit: _PyLong_New) or 32 (sizeof(PyLongObject): _PyLong_FromMedium), so requests of
// 28 to 32 bytes are not charged.
// Both can be overridden at build time (bench/heap_factor.sh builds with a 1:1 ratio to
// measure the raw host figures the ratio is fitted to).
#ifndef QP_HEAP_SMALL_RATIO_X100
#define QP_HEAP_SMALL_RATIO_X100 300
#endif
#ifndef QP_HEAP_LARGE_BLOCK
#define QP_HEAP_LARGE_BLOCK 512
#endif
#define QP_HEAP_INT_MIN 28
#define QP_HEAP_INT_MAX 32

// Installs the budgeted allocator; `budget` in device bytes (see qp_pyalloc.c).
void qp_pyalloc_install(size_t budget);
qp_heap_t *qp_pyalloc_heap(void);

// The configuration the module booted with, and the firmware it booted from, for
// _qp_runtime.
const qp_runtime_config_t *qp_runtime_config(void);
const qp_firmware_t *qp_runtime_firmware(void);

PyMODINIT_FUNC PyInit__qp_runtime(void);

#endif
