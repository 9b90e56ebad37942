// mod_qp_fota.c - the `_qp_fota` module: the QuecPython `fota` type (the boot script makes
// sys.modules['fota'] this type, so `import fota; f = fota()` works as on the module). Thin
// over qp_fota_store (src/fota): write() streams the package into the fota_pkg store,
// verify() checks it (with the device's key, if any: SPEC-patch §3.5) and marks it pending
// for the boot-time upgrade; set_public_key() is OpenQPY's extension. Failures return -1
// and print the firmware's log line saying why (docs/platform-facts.md, fota).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qp/qp_fota_store.h"

typedef struct {
    PyObject_HEAD
    qp_fota_store_t store;
    int open;
} fota_object;

static void fota_log(const char *what, const char *why) {
    PySys_WriteStdout("[fota] %s: %.200s\n", what, why);
}

static PyObject *fota_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"reset_disable", NULL};
    int reset_disable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|i", kwlist, &reset_disable)) {
        return NULL;
    }
    fota_object *self = (fota_object *)type->tp_alloc(type, 0);
    if (!self) {
        return NULL;
    }
    qp_flash_t *flash;
    const qp_flash_ptable_t *table;
    if (qp_fota_device_get(&flash, &table) == 0 &&
        qp_fota_store_open(&self->store, flash, table) == 0) {
        self->open = 1;
    }
    return (PyObject *)self;
}

static void fota_dealloc(PyObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *fota_write(PyObject *op, PyObject *args) {
    fota_object *self = (fota_object *)op;
    Py_buffer data;
    long long file_size = 0;
    if (!PyArg_ParseTuple(args, "y*|L", &data, &file_size)) {
        return NULL;
    }
    char msg[160] = "no fota_pkg partition";
    int err = -1;
    if (self->open) {
        Py_BEGIN_ALLOW_THREADS
        err = qp_fota_store_write(&self->store, data.buf, (uint32_t)data.len, file_size, msg,
                                  sizeof msg);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&data);
    if (err < 0) {
        fota_log("write failed", msg);
        return PyLong_FromLong(-1);
    }
    return PyLong_FromLong(0);
}

static PyObject *fota_flush(PyObject *op, PyObject *unused) {
    (void)op, (void)unused;
    PySys_WriteStdout("fota package write done, verifing ...\n");
    return PyLong_FromLong(0);
}

static PyObject *fota_verify(PyObject *op, PyObject *unused) {
    (void)unused;
    fota_object *self = (fota_object *)op;
    char msg[160] = "no fota_pkg partition";
    int err = -1;
    if (self->open) {
        self->store.key = qp_fota_device_key();
        Py_BEGIN_ALLOW_THREADS
        err = qp_fota_store_verify(&self->store, msg, sizeof msg);
        Py_END_ALLOW_THREADS
    }
    if (err < 0) {
        fota_log("verify failed", msg);
        return PyLong_FromLong(-1);
    }
    PySys_WriteStdout("fota package verify done, will restart to update ...\n");
    return PyLong_FromLong(0);
}

// OpenQPY's extension (docs/modules/fota.md): fota.set_public_key(pem) makes verify()
// accept only packages signed with that key for the rest of this boot.
static PyObject *fota_set_public_key(PyObject *unused, PyObject *args) {
    (void)unused;
    const char *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "s#", &text, &len)) {
        return NULL;
    }
    char msg[160];
    if (qp_fota_device_key_set(text, (size_t)len, 0, msg, sizeof msg) < 0) {
        fota_log("set_public_key failed", msg);
        return PyLong_FromLong(-1);
    }
    return PyLong_FromLong(0);
}

static PyMethodDef fota_methods[] = {
    {"write", fota_write, METH_VARARGS, NULL},
    {"flush", fota_flush, METH_NOARGS, NULL},
    {"verify", fota_verify, METH_NOARGS, NULL},
    {"set_public_key", fota_set_public_key, METH_VARARGS | METH_STATIC, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot fota_slots[] = {
    {Py_tp_new, fota_new},
    {Py_tp_dealloc, fota_dealloc},
    {Py_tp_methods, fota_methods},
    {0, NULL},
};

static PyType_Spec fota_spec = {
    .name = "fota",
    .basicsize = sizeof(fota_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = fota_slots,
};

static int fota_exec(PyObject *module) {
    PyObject *type = PyType_FromModuleAndSpec(module, &fota_spec, NULL);
    if (!type) {
        return -1;
    }
    int err = PyModule_AddObjectRef(module, "fota", type);
    Py_DECREF(type);
    return err;
}

static PyModuleDef_Slot fota_mod_slots[] = {
    {Py_mod_exec, fota_exec},
    {0, NULL},
};

static struct PyModuleDef fota_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_qp_fota",
    .m_size = 0,
    .m_slots = fota_mod_slots,
};

PyMODINIT_FUNC PyInit__qp_fota(void);
PyMODINIT_FUNC PyInit__qp_fota(void) {
    return PyModuleDef_Init(&fota_module);
}
