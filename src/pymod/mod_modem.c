// mod_modem.c - the `modem` module: the module's identity (IMEI, model, SN, firmware,
// manufacturer), as QuecPython's modem.getDev*() functions.
//
// Each function returns a str, or the integer -1 when the value cannot be read, as the
// platform documents. The values come from the HAL (set from the device profile at boot).
// The method order is the firmware's, because help(modem) lists them in table order.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qp/qp_hal.h"

static PyObject *modem_field(qp_hal_modem_field_t field) {
    char value[64];
    if (qp_hal_modem_get(field, value, sizeof value) < 0) {
        return PyLong_FromLong(-1);
    }
    return PyUnicode_FromString(value);
}

static PyObject *modem_getDevSN(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return modem_field(QP_HAL_MODEM_SN);
}

static PyObject *modem_getDevImei(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return modem_field(QP_HAL_MODEM_IMEI);
}

static PyObject *modem_getDevModel(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return modem_field(QP_HAL_MODEM_MODEL);
}

static PyObject *modem_getDevFwVersion(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return modem_field(QP_HAL_MODEM_FW_VERSION);
}

static PyObject *modem_getDevProductId(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return modem_field(QP_HAL_MODEM_PRODUCT_ID);
}

static PyMethodDef modem_methods[] = {
    {"getDevSN", modem_getDevSN, METH_NOARGS, NULL},
    {"getDevImei", modem_getDevImei, METH_NOARGS, NULL},
    {"getDevModel", modem_getDevModel, METH_NOARGS, NULL},
    {"getDevFwVersion", modem_getDevFwVersion, METH_NOARGS, NULL},
    {"getDevProductId", modem_getDevProductId, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot modem_slots[] = {
    {0, NULL},
};

static struct PyModuleDef modem_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "modem",
    .m_size = 0,
    .m_methods = modem_methods,
    .m_slots = modem_slots,
};

PyMODINIT_FUNC PyInit_modem(void);
PyMODINIT_FUNC PyInit_modem(void) {
    return PyModuleDef_Init(&modem_module);
}
