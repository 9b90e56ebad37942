// mod_qp_runtime.c - `_qp_runtime`, the runtime's private module for the frozen platform
// Python: module sources from the installed firmware's app section for the importer, heap
// figures for gc/_thread/micropython, and the boot configuration. Scripts never need it;
// it is not part of QuecPython's API.
#include "qp_runtime_internal.h"

#include <stdio.h>

static PyObject *runtime_frozen_source(PyObject *module, PyObject *arg) {
    (void)module;
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name) {
        return NULL;
    }
    char path[256];
    const uint8_t *data;
    size_t len;
    if (snprintf(path, sizeof path, "%s.py", name) >= (int)sizeof path
        || qp_firmware_app_file(qp_runtime_firmware(), path, &data, &len) < 0) {
        Py_RETURN_NONE;
    }
    return PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)len);
}

static PyObject *runtime_heap_info(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    const qp_heap_t *heap = qp_pyalloc_heap();
    // (budget, used, free, peak), all in device bytes
    return Py_BuildValue("(nnnn)", (Py_ssize_t)heap->cfg.budget,
                         (Py_ssize_t)qp_heap_device_used(heap),
                         (Py_ssize_t)qp_heap_device_free(heap),
                         (Py_ssize_t)heap->device_peak);
}

static PyObject *runtime_heap_start_budget(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    qp_heap_start_budget(qp_pyalloc_heap());
    Py_RETURN_NONE;
}

static PyObject *runtime_heap_exempt_begin(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    qp_heap_exempt_begin(qp_pyalloc_heap());
    Py_RETURN_NONE;
}

static PyObject *runtime_heap_exempt_end(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    qp_heap_exempt_end(qp_pyalloc_heap());
    Py_RETURN_NONE;
}

static PyObject *runtime_boot_info(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    const qp_runtime_config_t *cfg = qp_runtime_config();
    const char *mode = cfg->mode == QP_RUNTIME_RUN ? "run"
                     : cfg->mode == QP_RUNTIME_REPL ? "repl" : "boot";
    return Py_BuildValue("{s:s,s:s,s:z,s:i,s:s,s:s}", "device", cfg->device_dir, "mode", mode,
                         "script", cfg->script, "verbose", cfg->verbose, "model",
                         cfg->profile->model, "firmware", qp_runtime_firmware()->info.version);
}

// micropython.schedule(): run func(arg) on the main thread between bytecodes, as
// MicroPython runs scheduled callbacks. CPython's pending calls are that mechanism.
static int run_scheduled(void *call) {
    PyObject *pair = call;
    PyObject *result = PyObject_CallOneArg(PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1));
    Py_DECREF(pair);
    if (!result) {
        PyErr_Print();
    }
    Py_XDECREF(result);
    return 0;
}

static PyObject *runtime_schedule(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!_PyArg_CheckPositional("schedule", nargs, 2, 2)) {
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, args[0], args[1]);
    if (!pair) {
        return NULL;
    }
    if (Py_AddPendingCall(run_scheduled, pair) < 0) {
        Py_DECREF(pair);
        PyErr_SetString(PyExc_RuntimeError, "schedule queue full");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef runtime_methods[] = {
    {"schedule", (PyCFunction)(void (*)(void))runtime_schedule, METH_FASTCALL, NULL},
    {"frozen_source", runtime_frozen_source, METH_O, NULL},
    {"heap_info", runtime_heap_info, METH_NOARGS, NULL},
    {"heap_start_budget", runtime_heap_start_budget, METH_NOARGS, NULL},
    {"heap_exempt_begin", runtime_heap_exempt_begin, METH_NOARGS, NULL},
    {"heap_exempt_end", runtime_heap_exempt_end, METH_NOARGS, NULL},
    {"boot_info", runtime_boot_info, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot runtime_slots[] = {
    {0, NULL},
};

static struct PyModuleDef runtime_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_qp_runtime",
    .m_size = 0,
    .m_methods = runtime_methods,
    .m_slots = runtime_slots,
};

PyMODINIT_FUNC PyInit__qp_runtime(void) {
    return PyModuleDef_Init(&runtime_module);
}
