// mod_machine.c - the `machine` module: machine.UART over the HAL's pseudo-terminal UARTs
// (include/qp/qp_hal_uart.h), with the firmware's constructor, repr, errors and callback.
//
// As on the firmware (ports/quectel/core/source/machine_uart.c), there is one UART object
// per port: UART(2, ...) while a UART(2) object is alive returns that object, reconfigured.
// Argument checks and their messages, the ring, the write policy and the terminal
// settings live in the HAL and are unit-tested there; this file converts arguments and
// results. Receive callbacks: the HAL's receive thread pushes an event into a C queue
// (qp_hal_evq.h) and a dispatcher thread, started by the first set_callback(), takes the
// GIL and calls fn([0, port, size]), as the firmware's callback task does. The dispatcher
// holds a reference to the module, so the queue in the module state outlives it, and is
// stopped from atexit, before the interpreter starts finalizing.
//
// Blocking HAL calls run with the GIL released; a per-object read-write lock keeps close()
// and init() (writers) from pulling the HAL handle from under a read() or write().
#include "qp_pymod.h"

#include "qp/qp_err.h"
#include "qp/qp_hal_evq.h"
#include "qp/qp_hal_uart.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

// The callback's first element: 0, data received (the only kind the HAL reports).
#define UART_IND_RX 0
#define EVENT_SLOTS 16

typedef struct {
    PyObject *uart_type;
    PyObject *ports[QP_HAL_UART_COUNT]; // borrowed: the live UART object of each port
    qp_hal_evq_t events;
    qp_hal_event_t slots[EVENT_SLOTS];
    int events_ready;
    int dispatcher_started;
    pthread_t dispatcher;
    int verbose;                        // qpy -v: say where each UART's pty is
} machine_state;

typedef struct {
    PyObject_HEAD
    int port;
    qp_hal_uart_config_t cfg;  // framing as last configured (repr)
    qp_hal_uart_t hal;
    pthread_rwlock_t use;      // read: data calls; write: open/close/configure
    PyObject *callback;        // set_callback(fn), or NULL
} uart_object;

static machine_state *state_of_module(PyObject *module) {
    return (machine_state *)PyModule_GetState(module);
}

static machine_state *state_of_uart(PyObject *self) {
    return (machine_state *)PyType_GetModuleState(Py_TYPE(self));
}

// ---- Receive callbacks ----------------------------------------------------------------

// HAL receive thread: no Python here, only the queue.
static void uart_on_rx(void *ctx, int port, size_t size) {
    qp_hal_event_t ev = {QP_HAL_EVENT_SOURCE_UART, UART_IND_RX, port, size};
    qp_hal_evq_push(ctx, &ev, 1);
}

static void deliver(machine_state *st, const qp_hal_event_t *ev) {
    PyObject *uart = st->ports[ev->port];
    PyObject *fn = uart ? ((uart_object *)uart)->callback : NULL;
    if (!fn) {
        return; // callback removed or UART gone since the bytes arrived
    }
    Py_INCREF(fn);
    PyObject *arg = Py_BuildValue("[iiK]", ev->type, ev->port, (unsigned long long)ev->value);
    PyObject *result = arg ? PyObject_CallOneArg(fn, arg) : NULL;
    if (!result) {
        PyErr_Print(); // as an unhandled exception in a thread: reported, not fatal
    }
    Py_XDECREF(result);
    Py_XDECREF(arg);
    Py_DECREF(fn);
}

// The dispatcher waits without a thread state, so at no time does it hold the GIL or
// need it to stop; it takes the GIL only to deliver one event.
static void *dispatcher_main(void *arg) {
    PyObject *module = arg; // strong reference, taken by start_dispatcher()
    machine_state *st = state_of_module(module);
    for (;;) {
        qp_hal_event_t ev;
        int err = qp_hal_evq_pop(&st->events, &ev, -1);
        if (err == QP_ERR_BADF) {
            break;
        }
        if (err == 0) {
            PyGILState_STATE gil = PyGILState_Ensure();
            deliver(st, &ev);
            PyGILState_Release(gil);
        }
    }
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_DECREF(module);
    PyGILState_Release(gil);
    return NULL;
}

static int start_dispatcher(machine_state *st, PyObject *module) {
    if (st->dispatcher_started) {
        return 0;
    }
    Py_INCREF(module);
    // Signals belong to the interpreter's main thread (Ctrl-C).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&st->dispatcher, NULL, dispatcher_main, module);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        Py_DECREF(module);
        PyErr_SetString(PyExc_RuntimeError, "can't start the callback thread");
        return -1;
    }
    st->dispatcher_started = 1;
    return 0;
}

// atexit: stop the dispatcher while threads may still take the GIL. Once the interpreter
// is finalizing, a thread asking for the GIL is terminated on the spot, which would leave
// the dispatcher's references behind. A callback that never returns is given 2 s.
static PyObject *machine_shutdown(PyObject *module, PyObject *unused) {
    (void)unused;
    machine_state *st = state_of_module(module);
    if (!st->dispatcher_started) {
        Py_RETURN_NONE;
    }
    st->dispatcher_started = 0;
    qp_hal_evq_close(&st->events);
    int err;
    Py_BEGIN_ALLOW_THREADS
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    err = pthread_timedjoin_np(st->dispatcher, NULL, &deadline);
    Py_END_ALLOW_THREADS
    if (err != 0) {
        pthread_detach(st->dispatcher);
    }
    Py_RETURN_NONE;
}

static PyMethodDef machine_shutdown_def = {"_machine_shutdown", machine_shutdown,
                                           METH_NOARGS, NULL};

static int register_shutdown(PyObject *module) {
    PyObject *fn = PyCFunction_New(&machine_shutdown_def, module);
    PyObject *atexit = fn ? PyImport_ImportModule("atexit") : NULL;
    PyObject *r = atexit ? PyObject_CallMethod(atexit, "register", "O", fn) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(atexit);
    Py_XDECREF(fn);
    return r ? 0 : -1;
}

// ---- Opening and configuring ----------------------------------------------------------

static const char *uart_kwlist[] = {"", "baudrate", "bits", "parity", "stop", "flow", NULL};

// Parses (baudrate, bits, parity, stop, flow) with the documented defaults into *cfg and
// checks them; raises the firmware's ValueError on a bad value.
static int parse_config(PyObject *args, PyObject *kwargs, const char *fmt, long *port,
                        qp_hal_uart_config_t *cfg) {
    *cfg = (qp_hal_uart_config_t)QP_HAL_UART_CONFIG_INIT;
    const char **kw = port ? uart_kwlist : uart_kwlist + 1;
    int ok = port ? PyArg_ParseTupleAndKeywords(args, kwargs, fmt, (char **)kw, port,
                                                &cfg->baudrate, &cfg->data_bits,
                                                &cfg->parity, &cfg->stop_bits, &cfg->flow)
                  : PyArg_ParseTupleAndKeywords(args, kwargs, fmt, (char **)kw,
                                                &cfg->baudrate, &cfg->data_bits,
                                                &cfg->parity, &cfg->stop_bits, &cfg->flow);
    if (!ok) {
        return -1;
    }
    qp_hal_uart_bad_t bad = qp_hal_uart_check(port ? *port : 0, cfg);
    if (bad != QP_HAL_UART_OK) {
        char msg[64];
        qp_hal_uart_bad_message(bad, port ? *port : 0, msg, sizeof msg);
        PyErr_SetString(PyExc_ValueError, msg);
        return -1;
    }
    return 0;
}

// Opens the port, or reconfigures it when open (the pty and a connected peer stay).
static int apply_config(uart_object *self, const qp_hal_uart_config_t *cfg) {
    machine_state *st = state_of_uart((PyObject *)self);
    qp_hal_uart_config_t c = *cfg;
    c.link_dir = qp_hal_uart_device_dir();
    c.on_rx = self->callback ? uart_on_rx : NULL; // no callback, no events to queue
    c.on_rx_ctx = &st->events;
    int err, opened = 0;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_wrlock(&self->use);
    if (qp_hal_uart_is_open(&self->hal)) {
        err = qp_hal_uart_configure(&self->hal, &c);
    } else {
        err = qp_hal_uart_open(&self->hal, self->port, &c);
        opened = err == 0;
    }
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
    if (err < 0) {
        qp_py_raise(err);
        return -1;
    }
    self->cfg = *cfg;
    if (opened && st->verbose) {
        const char *link = qp_hal_uart_link_path(&self->hal);
        fprintf(stderr, "qpy: UART%d is %s%s%s\n", self->port,
                qp_hal_uart_slave_path(&self->hal), link[0] ? ", linked as " : "", link);
    }
    return 0;
}

static PyObject *uart_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    long port;
    qp_hal_uart_config_t cfg;
    if (parse_config(args, kwargs, "l|lllll:UART", &port, &cfg) < 0) {
        return NULL;
    }
    machine_state *st = PyType_GetModuleState(type);
    uart_object *self = (uart_object *)st->ports[port];
    if (self) {
        Py_INCREF(self);
    } else {
        self = (uart_object *)type->tp_alloc(type, 0);
        if (!self) {
            return NULL;
        }
        self->port = (int)port;
        qp_hal_uart_init(&self->hal);
        pthread_rwlock_init(&self->use, NULL);
        st->ports[port] = (PyObject *)self;
    }
    if (apply_config(self, &cfg) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void close_hal(uart_object *self) {
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_wrlock(&self->use);
    qp_hal_uart_close(&self->hal);
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
}

static int uart_traverse(PyObject *self, visitproc visit, void *arg) {
    Py_VISIT(((uart_object *)self)->callback);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int uart_clear(PyObject *self) {
    Py_CLEAR(((uart_object *)self)->callback);
    return 0;
}

static void uart_dealloc(PyObject *op) {
    uart_object *self = (uart_object *)op;
    PyTypeObject *type = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    machine_state *st = PyType_GetModuleState(type);
    if (st && st->ports[self->port] == op) {
        st->ports[self->port] = NULL;
    }
    close_hal(self);
    pthread_rwlock_destroy(&self->use);
    uart_clear(op);
    type->tp_free(op);
    Py_DECREF(type);
}

// ---- Methods --------------------------------------------------------------------------

static PyObject *uart_init(PyObject *op, PyObject *args, PyObject *kwargs) {
    qp_hal_uart_config_t cfg;
    if (parse_config(args, kwargs, "|lllll:init", NULL, &cfg) < 0 ||
        apply_config((uart_object *)op, &cfg) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *uart_close(PyObject *op, PyObject *unused) {
    (void)unused;
    close_hal((uart_object *)op);
    return PyLong_FromLong(0);
}

static size_t buffered(uart_object *self) {
    size_t n;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_rdlock(&self->use);
    n = qp_hal_uart_any(&self->hal);
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
    return n;
}

static PyObject *uart_any(PyObject *op, PyObject *unused) {
    (void)unused;
    return PyLong_FromSize_t(buffered((uart_object *)op));
}

// read(n) returns up to n buffered bytes (b'' when none), read() all of them; readline()
// the same, stopping after a newline. Neither waits for more, as the firmware's
// non-blocking stream read and unbuffered readline.
static PyObject *read_common(uart_object *self, PyObject *const *args, Py_ssize_t nargs,
                             const char *name, int line) {
    if (!_PyArg_CheckPositional(name, nargs, 0, 1)) {
        return NULL;
    }
    Py_ssize_t want = -1;
    if (nargs == 1 && args[0] != Py_None) {
        want = PyLong_AsSsize_t(args[0]);
        if (want == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    // Never more than is buffered: read(100000) must not allocate 100000 bytes of heap.
    Py_ssize_t there = (Py_ssize_t)buffered(self);
    if (want < 0 || want > there) {
        want = there;
    }
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, want);
    if (!bytes) {
        return NULL;
    }
    ssize_t n;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_rdlock(&self->use);
    n = line ? qp_hal_uart_read_until(&self->hal, PyBytes_AS_STRING(bytes), (size_t)want, '\n')
             : qp_hal_uart_read(&self->hal, PyBytes_AS_STRING(bytes), (size_t)want);
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
    if (n < 0) {
        Py_DECREF(bytes);
        return qp_py_raise((int)n);
    }
    if (n != want && _PyBytes_Resize(&bytes, n) < 0) {
        return NULL;
    }
    return bytes;
}

static PyObject *uart_read(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    return read_common((uart_object *)op, args, nargs, "read", 0);
}

static PyObject *uart_readline(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    return read_common((uart_object *)op, args, nargs, "readline", 1);
}

// readinto(buf[, nbytes]): fills a writable buffer with what is there; returns the count.
static PyObject *uart_readinto(PyObject *op, PyObject *args) {
    uart_object *self = (uart_object *)op;
    Py_buffer view;
    Py_ssize_t limit = -1;
    if (!PyArg_ParseTuple(args, "w*|n:readinto", &view, &limit)) {
        return NULL;
    }
    size_t len = limit >= 0 && limit < view.len ? (size_t)limit : (size_t)view.len;
    ssize_t n;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_rdlock(&self->use);
    n = qp_hal_uart_read(&self->hal, view.buf, len);
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return n < 0 ? qp_py_raise((int)n) : PyLong_FromSsize_t(n);
}

// write(buf): str (sent as UTF-8) or any bytes-like object; returns the count sent, or
// None when flow control held back every byte (a non-blocking stream's EAGAIN).
static PyObject *uart_write(PyObject *op, PyObject *arg) {
    uart_object *self = (uart_object *)op;
    Py_buffer view;
    const char *data;
    Py_ssize_t len;
    int have_view = 0;
    if (PyUnicode_Check(arg)) {
        data = PyUnicode_AsUTF8AndSize(arg, &len);
        if (!data) {
            return NULL;
        }
    } else {
        if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
            return NULL;
        }
        have_view = 1;
        data = view.buf;
        len = view.len;
    }
    ssize_t n;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_rdlock(&self->use);
    n = qp_hal_uart_write(&self->hal, data, (size_t)len);
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
    if (have_view) {
        PyBuffer_Release(&view);
    }
    if (n == QP_ERR_AGAIN) {
        Py_RETURN_NONE;
    }
    if (n < 0) {
        return qp_py_raise((int)n);
    }
    return PyLong_FromSsize_t(n);
}

static PyObject *uart_set_callback(PyObject *op, PyObject *fn) {
    uart_object *self = (uart_object *)op;
    if (fn != Py_None && !PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "callback must be callable");
        return NULL;
    }
    PyObject *module = PyType_GetModule(Py_TYPE(op));
    if (!module || (fn != Py_None && start_dispatcher(state_of_uart(op), module) < 0)) {
        return NULL;
    }
    Py_XSETREF(self->callback, fn == Py_None ? NULL : Py_NewRef(fn));
    // A closed UART keeps the callback for its next open (apply_config installs it).
    qp_hal_evq_t *events = &state_of_uart(op)->events;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_rdlock(&self->use);
    if (qp_hal_uart_is_open(&self->hal)) {
        qp_hal_uart_set_callback(&self->hal, fn == Py_None ? NULL : uart_on_rx,
                                 events);
    }
    pthread_rwlock_unlock(&self->use);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(0);
}

// The firmware prints the parity through a table indexed by its enum (none 0, even 1,
// odd 2) holding {"None", "1", "0"}: even shows as 1 and odd as 0. Reproduced as is.
static PyObject *uart_repr(PyObject *op) {
    static const char *const parity_name[] = {"None", "1", "0"};
    uart_object *self = (uart_object *)op;
    return PyUnicode_FromFormat("UART(%d, baudrate=%ld, bits=%ld, parity=%s, stop=%ld, "
                                "flow=%ld)",
                                self->port, self->cfg.baudrate, self->cfg.data_bits,
                                parity_name[self->cfg.parity], self->cfg.stop_bits,
                                self->cfg.flow);
}

static PyMethodDef uart_methods[] = {
    {"init", (PyCFunction)(void (*)(void))uart_init, METH_VARARGS | METH_KEYWORDS, NULL},
    {"close", uart_close, METH_NOARGS, NULL},
    {"any", uart_any, METH_NOARGS, NULL},
    {"read", (PyCFunction)(void (*)(void))uart_read, METH_FASTCALL, NULL},
    {"readline", (PyCFunction)(void (*)(void))uart_readline, METH_FASTCALL, NULL},
    {"readinto", uart_readinto, METH_VARARGS, NULL},
    {"write", uart_write, METH_O, NULL},
    {"set_callback", uart_set_callback, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot uart_slots[] = {
    {Py_tp_new, uart_new},
    {Py_tp_dealloc, uart_dealloc},
    {Py_tp_traverse, uart_traverse},
    {Py_tp_clear, uart_clear},
    {Py_tp_repr, uart_repr},
    {Py_tp_methods, uart_methods},
    {0, NULL},
};

static PyType_Spec uart_spec = {
    .name = "machine.UART",
    .basicsize = sizeof(uart_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = uart_slots,
};

// ---- Module ---------------------------------------------------------------------------

// The device directory (for the uart<N> links) and -v come from the runtime's boot
// information; without a runtime (an embedding test) there is simply no link.
static void read_boot_info(machine_state *st) {
    PyObject *info = NULL, *runtime = PyImport_ImportModule("_qp_runtime");
    if (runtime) {
        info = PyObject_CallMethod(runtime, "boot_info", NULL);
        Py_DECREF(runtime);
    }
    PyObject *device = info ? PyDict_GetItemString(info, "device") : NULL;
    PyObject *verbose = info ? PyDict_GetItemString(info, "verbose") : NULL;
    if (device && PyUnicode_Check(device) && !qp_hal_uart_device_dir()) {
        qp_hal_uart_set_device_dir(PyUnicode_AsUTF8(device));
    }
    st->verbose = verbose && PyObject_IsTrue(verbose) == 1;
    Py_XDECREF(info);
    PyErr_Clear();
}

static int machine_exec(PyObject *module) {
    machine_state *st = state_of_module(module);
    if (qp_hal_evq_init(&st->events, st->slots, EVENT_SLOTS) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "machine: event queue");
        return -1;
    }
    st->events_ready = 1;
    read_boot_info(st);
    if (register_shutdown(module) < 0) {
        return -1;
    }
    st->uart_type = PyType_FromModuleAndSpec(module, &uart_spec, NULL);
    if (!st->uart_type) {
        return -1;
    }
    // Class constants go straight into the type's dict: the type is immutable to scripts.
    PyObject *dict = ((PyTypeObject *)st->uart_type)->tp_dict;
    static const char *const names[] = {"UART0", "UART1", "UART2", "UART3"};
    for (int i = 0; i < QP_HAL_UART_COUNT; i++) {
        PyObject *v = PyLong_FromLong(i);
        int err = v ? PyDict_SetItemString(dict, names[i], v) : -1;
        Py_XDECREF(v);
        if (err < 0) {
            return -1;
        }
    }
    PyType_Modified((PyTypeObject *)st->uart_type);
    return PyModule_AddObjectRef(module, "UART", st->uart_type);
}

static int machine_traverse(PyObject *module, visitproc visit, void *arg) {
    Py_VISIT(state_of_module(module)->uart_type);
    return 0;
}

static int machine_clear(PyObject *module) {
    Py_CLEAR(state_of_module(module)->uart_type);
    return 0;
}

// Only reached when no dispatcher runs (it holds the module) and no UART is alive (each
// holds the module through its type), so nothing can touch the queue any more.
static void machine_free(void *module) {
    machine_state *st = state_of_module(module);
    machine_clear(module);
    if (st->events_ready) {
        qp_hal_evq_deinit(&st->events);
        st->events_ready = 0;
    }
}

static PyModuleDef_Slot machine_slots[] = {
    {Py_mod_exec, machine_exec},
    {0, NULL},
};

static struct PyModuleDef machine_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "machine",
    .m_size = sizeof(machine_state),
    .m_slots = machine_slots,
    .m_traverse = machine_traverse,
    .m_clear = machine_clear,
    .m_free = machine_free,
};

PyMODINIT_FUNC PyInit_machine(void);
PyMODINIT_FUNC PyInit_machine(void) {
    return PyModuleDef_Init(&machine_module);
}
