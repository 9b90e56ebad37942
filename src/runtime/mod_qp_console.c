// mod_qp_console.c - `_qp_console`, the runtime's private module for the REPL of `qpy
// serve`: the console port (qp_hal_console.h) and the REPL protocol machine
// (qp_repl_proto.h) it feeds, for _qp_repl.serve(). Thin: received bytes go from the
// port's ring to the machine in C (a 1 MB raw-paste never crosses into Python byte by
// byte); Python gets events and code, compiles and runs it, and says how it ended.
//
// There is one console per module, as there is one USB port, so its state is a process
// singleton (plain C state, no Python objects).
#include "qp_runtime_internal.h"

#include "qp/qp_err.h"
#include "qp/qp_hal_console.h"
#include "qp/qp_repl_proto.h"

#include <signal.h>

static qp_hal_console_t console;
static qp_repl_proto_t proto;

static int proto_write(void *ctx, const uint8_t *data, size_t len) {
    ssize_t n = qp_hal_console_write(ctx, data, len);
    return n < 0 ? (int)n : 0;
}

static PyObject *raise_err(int err) {
    errno = -err;
    return PyErr_SetFromErrno(PyExc_OSError);
}

static int serving(void) {
    const qp_runtime_config_t *cfg = qp_runtime_config();
    return cfg && cfg->mode == QP_RUNTIME_SERVE;
}

static PyObject *console_serving(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return PyBool_FromLong(serving());
}

static PyObject *console_open(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    if (!serving()) {
        return raise_err(QP_ERR_BADF);
    }
    if (console.opened) {
        Py_RETURN_NONE;
    }
    const qp_runtime_config_t *cfg = qp_runtime_config();
    int err = qp_hal_console_open(&console, cfg->console_master_fd, cfg->console_slave_fd, 0);
    if (err < 0) {
        return raise_err(err);
    }
    qp_repl_proto_config_t pc = {.write = proto_write, .write_ctx = &console};
    qp_repl_proto_init(&proto, &pc);
    Py_RETURN_NONE;
}

static PyObject *console_close(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    Py_BEGIN_ALLOW_THREADS
    qp_hal_console_close(&console);
    Py_END_ALLOW_THREADS
    qp_repl_proto_deinit(&proto);
    Py_RETURN_NONE;
}

// next_event(timeout_ms) -> None on timeout, else (event, code bytes, kind). Feeds the
// machine from the port until it has an event; bytes after the event stay in the port.
static PyObject *console_next_event(PyObject *module, PyObject *arg) {
    (void)module;
    int timeout = PyLong_AsLong(arg);
    if (timeout == -1 && PyErr_Occurred()) {
        return NULL;
    }
    int ev = QP_REPL_EV_NONE;
    ssize_t got = 1;
    Py_BEGIN_ALLOW_THREADS
    while (ev == QP_REPL_EV_NONE && got > 0) {
        const uint8_t *data;
        size_t len, used = 0;
        got = qp_hal_console_peek(&console, &data, &len, timeout);
        if (got > 0) {
            ev = qp_repl_proto_feed(&proto, data, len, &used);
            qp_hal_console_consume(&console, used);
        }
    }
    Py_END_ALLOW_THREADS
    if (ev < 0) {
        return raise_err(ev);
    }
    if (got < 0) {
        return raise_err((int)got);
    }
    if (ev == QP_REPL_EV_NONE) {
        Py_RETURN_NONE;
    }
    size_t n;
    const uint8_t *code = qp_repl_proto_code(&proto, &n);
    return Py_BuildValue("(iy#ii)", ev, code, (Py_ssize_t)n, (int)proto.exec_kind,
                         qp_repl_proto_overflowed(&proto));
}

// read(n, timeout_ms) -> up to n received bytes (b"" on timeout), for the running code.
static PyObject *console_read(PyObject *module, PyObject *args) {
    (void)module;
    Py_ssize_t want;
    int timeout;
    if (!PyArg_ParseTuple(args, "ni", &want, &timeout)) {
        return NULL;
    }
    const uint8_t *data = NULL;
    size_t len = 0;
    ssize_t got;
    Py_BEGIN_ALLOW_THREADS
    got = qp_hal_console_peek(&console, &data, &len, timeout);
    Py_END_ALLOW_THREADS
    if (got < 0) {
        return raise_err((int)got);
    }
    if ((Py_ssize_t)len > want) {
        len = (size_t)want;
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)len);
    if (out) {
        qp_hal_console_consume(&console, len);
    }
    return out;
}

static PyObject *write_with(PyObject *arg, int cooked) {
    Py_buffer view;
    PyObject *bytes = NULL;
    if (PyUnicode_Check(arg)) {
        bytes = PyUnicode_AsEncodedString(arg, "utf-8", "surrogateescape");
        if (!bytes) {
            return NULL;
        }
        arg = bytes;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        Py_XDECREF(bytes);
        return NULL;
    }
    ssize_t n;
    Py_BEGIN_ALLOW_THREADS
    n = cooked ? qp_hal_console_write_cooked(&console, view.buf, (size_t)view.len)
               : qp_hal_console_write(&console, view.buf, (size_t)view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    Py_XDECREF(bytes);
    if (n < 0) {
        return raise_err((int)n);
    }
    return PyLong_FromSsize_t(n);
}

// write(str|bytes): output of the running code, "\n" sent as "\r\n".
static PyObject *console_write(PyObject *module, PyObject *arg) {
    (void)module;
    return write_with(arg, 1);
}

static PyObject *console_write_raw(PyObject *module, PyObject *arg) {
    (void)module;
    return write_with(arg, 0);
}

// interrupt(enable): Ctrl-C raises KeyboardInterrupt in the calling thread while enabled.
static PyObject *console_interrupt(PyObject *module, PyObject *arg) {
    (void)module;
    int on = PyObject_IsTrue(arg);
    if (on < 0) {
        return NULL;
    }
    qp_hal_console_set_interrupt(&console, on ? QP_REPL_CHAR_CTRL_C : -1);
    Py_RETURN_NONE;
}

static PyObject *console_take_interrupt(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    return PyLong_FromUnsignedLong(qp_hal_console_take_interrupt(&console));
}

// The machine's steps after an event (qp_repl_proto.h); each may write to the port.
static PyObject *proto_step(int (*step)(qp_repl_proto_t *)) {
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = step(&proto);
    Py_END_ALLOW_THREADS
    return err < 0 ? raise_err(err) : (Py_INCREF(Py_None), Py_None);
}

static PyObject *console_cont(PyObject *m, PyObject *u) {
    (void)m, (void)u;
    return proto_step(qp_repl_proto_continue);
}
static PyObject *console_exec_line(PyObject *m, PyObject *u) {
    (void)m, (void)u;
    return proto_step(qp_repl_proto_exec_line);
}
static PyObject *console_output_end(PyObject *m, PyObject *u) {
    (void)m, (void)u;
    return proto_step(qp_repl_proto_exec_output_end);
}
static PyObject *console_done(PyObject *m, PyObject *u) {
    (void)m, (void)u;
    return proto_step(qp_repl_proto_exec_done);
}
static PyObject *console_prompt(PyObject *m, PyObject *u) {
    (void)m, (void)u;
    return proto_step(qp_repl_proto_prompt);
}

static PyObject *console_start(PyObject *module, PyObject *arg) {
    (void)module;
    int raw = PyObject_IsTrue(arg);
    if (raw < 0) {
        return NULL;
    }
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = qp_repl_proto_start(&proto, raw);
    Py_END_ALLOW_THREADS
    return err < 0 ? raise_err(err) : (Py_INCREF(Py_None), Py_None);
}

// raw() -> True when the REPL is in (or running code from) raw mode.
static PyObject *console_raw(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    qp_repl_mode_t m = proto.mode == QP_REPL_MODE_EXEC ? proto.exec_from : proto.mode;
    return PyBool_FromLong(m == QP_REPL_MODE_RAW || m == QP_REPL_MODE_RAW_PASTE);
}

static PyMethodDef console_methods[] = {
    {"serving", console_serving, METH_NOARGS, NULL},
    {"open", console_open, METH_NOARGS, NULL},
    {"close", console_close, METH_NOARGS, NULL},
    {"next_event", console_next_event, METH_O, NULL},
    {"read", console_read, METH_VARARGS, NULL},
    {"write", console_write, METH_O, NULL},
    {"write_raw", console_write_raw, METH_O, NULL},
    {"interrupt", console_interrupt, METH_O, NULL},
    {"take_interrupt", console_take_interrupt, METH_NOARGS, NULL},
    {"cont", console_cont, METH_NOARGS, NULL},
    {"exec_line", console_exec_line, METH_NOARGS, NULL},
    {"output_end", console_output_end, METH_NOARGS, NULL},
    {"done", console_done, METH_NOARGS, NULL},
    {"prompt", console_prompt, METH_NOARGS, NULL},
    {"start", console_start, METH_O, NULL},
    {"raw", console_raw, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static int console_exec(PyObject *module) {
    // Event numbers for _qp_repl, from the header rather than repeated in Python.
    if (PyModule_AddIntConstant(module, "EV_LINE", QP_REPL_EV_LINE) < 0
        || PyModule_AddIntConstant(module, "EV_EXEC", QP_REPL_EV_EXEC) < 0
        || PyModule_AddIntConstant(module, "EV_SOFT_RESET", QP_REPL_EV_SOFT_RESET) < 0
        || PyModule_AddIntConstant(module, "EV_BANNER", QP_REPL_EV_BANNER) < 0
        || PyModule_AddIntConstant(module, "EV_INTERRUPTED", QP_REPL_EV_INTERRUPTED) < 0
        || PyModule_AddIntConstant(module, "EXEC_SINGLE", QP_REPL_EXEC_SINGLE) < 0) {
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot console_slots[] = {
    {Py_mod_exec, console_exec},
    {0, NULL},
};

static struct PyModuleDef console_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_qp_console",
    .m_size = 0,
    .m_methods = console_methods,
    .m_slots = console_slots,
};

PyMODINIT_FUNC PyInit__qp_console(void);
PyMODINIT_FUNC PyInit__qp_console(void) {
    return PyModuleDef_Init(&console_module);
}
