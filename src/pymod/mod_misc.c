// mod_misc.c - the `misc` module's Power class: restart, power down, boot reasons and
// battery voltage, as QuecPython's misc.Power.
//
// Power is used at class level (`Power.powerRestart()`), so its functions are static
// methods of a heap type. Restart and power-down are carried out by the runtime through
// the HAL; they do not return.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qp/qp_hal.h"

static PyObject *power_restart_or_down(int (*action)(void)) {
    // Flush what the script printed: the process image is about to be replaced.
    PyObject *result = PyObject_CallMethod(PySys_GetObject("stdout"), "flush", NULL);
    Py_XDECREF(result);
    PyErr_Clear();
    int err = action();
    // Only reached when the runtime installed no power operations.
    return PyLong_FromLong(err < 0 ? -1 : 0);
}

static PyObject *power_powerRestart(PyObject *cls, PyObject *unused) {
    (void)cls, (void)unused;
    return power_restart_or_down(qp_hal_power_restart);
}

static PyObject *power_powerDown(PyObject *cls, PyObject *unused) {
    (void)cls, (void)unused;
    return power_restart_or_down(qp_hal_power_down);
}

static PyObject *power_powerOnReason(PyObject *cls, PyObject *unused) {
    (void)cls, (void)unused;
    return PyLong_FromLong(qp_hal_power_on_reason());
}

static PyObject *power_powerDownReason(PyObject *cls, PyObject *unused) {
    (void)cls, (void)unused;
    return PyLong_FromLong(qp_hal_power_down_reason());
}

static PyObject *power_getVbatt(PyObject *cls, PyObject *unused) {
    (void)cls, (void)unused;
    return PyLong_FromLong(qp_hal_power_vbatt_mv());
}

static PyMethodDef power_methods[] = {
    {"powerRestart", power_powerRestart, METH_NOARGS | METH_STATIC, NULL},
    {"powerDown", power_powerDown, METH_NOARGS | METH_STATIC, NULL},
    {"powerOnReason", power_powerOnReason, METH_NOARGS | METH_STATIC, NULL},
    {"powerDownReason", power_powerDownReason, METH_NOARGS | METH_STATIC, NULL},
    {"getVbatt", power_getVbatt, METH_NOARGS | METH_STATIC, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot power_slots[] = {
    {Py_tp_methods, power_methods},
    {0, NULL},
};

static PyType_Spec power_spec = {
    .name = "misc.Power",
    .basicsize = sizeof(PyObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = power_slots,
};

static int misc_exec(PyObject *module) {
    PyObject *power = PyType_FromModuleAndSpec(module, &power_spec, NULL);
    if (!power) {
        return -1;
    }
    int rc = PyModule_AddObjectRef(module, "Power", power);
    Py_DECREF(power);
    return rc;
}

static PyModuleDef_Slot misc_slots[] = {
    {Py_mod_exec, misc_exec},
    {0, NULL},
};

static struct PyModuleDef misc_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "misc",
    .m_size = 0,
    .m_slots = misc_slots,
};

PyMODINIT_FUNC PyInit_misc(void);
PyMODINIT_FUNC PyInit_misc(void) {
    return PyModuleDef_Init(&misc_module);
}
