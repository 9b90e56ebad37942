// mod_qp_thread.c - QuecPython's additions to `_thread`: stack_size with the device's
// semantics, start_new_thread returning the id and enforcing the thread's stack, and
// threadIsRunning / stop_thread. The boot code merges these into CPython's own `_thread`
// (a built-in we cannot replace, house-style trap 3); locks are CPython's.
//
// Stack enforcement: on the device a thread gets `stack_size` bytes (8 KiB by default)
// and deep recursion overflows it. CPython 3.11 runs Python-to-Python calls without
// growing the C stack, so instead each thread gets a recursion limit of
// stack_size / QP_THREAD_STACK_PER_CALL levels (docs/modules/_thread.md explains the
// figure), and RecursionError is reported as MicroPython's RuntimeError.
#include "qp_pymod.h"

#include "pythread.h"

#define QP_THREAD_DEFAULT_STACK 8192
// Device stack bytes one nested Python call costs on the EC600S (MicroPython's VM frame
// plus a small function's code state on the C stack); see docs/modules/_thread.md.
#define QP_THREAD_STACK_PER_CALL 256
// MicroPython refuses thread stacks below this; so do we.
#define QP_THREAD_MIN_STACK 2048

typedef struct {
    long stack_size;      // bytes for threads created from now on
    PyObject *running;    // set of ids of threads started here and not yet finished
    unsigned long main_ident;
} thread_state;

static thread_state *get_state(PyObject *module) {
    return (thread_state *)PyModule_GetState(module);
}

typedef struct {
    PyObject *module;     // strong reference: keeps the state alive while we run
    PyObject *func, *args, *kwargs;
    int recursion_limit;
} thread_boot;

static void report_unhandled(PyObject *func) {
    // MicroPython: "Unhandled exception in thread started by <function f at 0x...>"
    // followed by the traceback.
    PyObject *exc_type, *exc, *tb;
    PyErr_Fetch(&exc_type, &exc, &tb);
    PyErr_NormalizeException(&exc_type, &exc, &tb);
    PyObject *err = PySys_GetObject("stderr");
    PyObject *repr = PyObject_Repr(func);
    if (err && repr) {
        PyObject *line = PyUnicode_FromFormat("Unhandled exception in thread started by %U\n",
                                              repr);
        if (line) {
            PyObject *r = PyObject_CallMethod(err, "write", "O", line);
            Py_XDECREF(r);
            Py_DECREF(line);
        }
    }
    Py_XDECREF(repr);
    PyErr_Restore(exc_type, exc, tb);
    PyErr_PrintEx(0); // goes through sys.excepthook, the MicroPython formatter
}

static void thread_run(void *arg) {
    thread_boot *boot = arg;
    PyGILState_STATE gil = PyGILState_Ensure();
    // CPython 3.11 raises a thread's own limit back to the interpreter's whenever the
    // thread's depth is below the latter, so a lower per-thread limit does not hold. We
    // start the thread as if it were already `limit` levels short of the interpreter's
    // limit instead: it then has exactly `limit` levels before RecursionError.
    PyThreadState *ts = PyThreadState_Get();
    ts->recursion_limit = Py_GetRecursionLimit();
    ts->recursion_remaining = boot->recursion_limit;

    PyObject *result = PyObject_Call(boot->func, boot->args, boot->kwargs);
    if (result) {
        Py_DECREF(result);
    } else if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
        PyErr_Clear(); // _thread.exit() and stop_thread() end a thread quietly
    } else {
        report_unhandled(boot->func);
    }
    // The starter put our id in the running set; take it out.
    PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    if (ident) {
        PySet_Discard(get_state(boot->module)->running, ident);
        Py_DECREF(ident);
    }
    PyErr_Clear();
    Py_DECREF(boot->func);
    Py_DECREF(boot->args);
    Py_XDECREF(boot->kwargs);
    Py_DECREF(boot->module);
    PyMem_RawFree(boot);
    PyGILState_Release(gil);
}

static PyObject *thread_start_new_thread(PyObject *module, PyObject *const *args,
                                         Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("start_new_thread", nargs, 2, 3)) {
        return NULL;
    }
    if (!PyCallable_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "first arg must be callable");
        return NULL;
    }
    PyObject *fargs = args[1];
    if (PyList_Check(fargs)) {
        fargs = PyList_AsTuple(fargs);
    } else if (PyTuple_Check(fargs)) {
        Py_INCREF(fargs);
    } else {
        PyErr_SetString(PyExc_TypeError, "expecting a tuple or list of args");
        return NULL;
    }
    if (!fargs) {
        return NULL;
    }
    PyObject *kwargs = nargs == 3 ? args[2] : NULL;
    if (kwargs && !PyDict_Check(kwargs)) {
        Py_DECREF(fargs);
        PyErr_SetString(PyExc_TypeError, "expecting a dict of keyword args");
        return NULL;
    }
    thread_boot *boot = PyMem_RawMalloc(sizeof *boot);
    if (!boot) {
        Py_DECREF(fargs);
        return PyErr_NoMemory();
    }
    boot->module = Py_NewRef(module);
    boot->func = Py_NewRef(args[0]);
    boot->args = fargs;
    boot->kwargs = Py_XNewRef(kwargs);
    boot->recursion_limit = (int)(get_state(module)->stack_size / QP_THREAD_STACK_PER_CALL);

    // The new thread needs a thread state of its own (PyGILState_Ensure makes one); make
    // sure the GIL machinery knows threads exist before it starts.
    unsigned long ident = PyThread_start_new_thread(thread_run, boot);
    if (ident == PYTHREAD_INVALID_THREAD_ID) {
        Py_DECREF(boot->module);
        Py_DECREF(boot->func);
        Py_DECREF(boot->args);
        Py_XDECREF(boot->kwargs);
        PyMem_RawFree(boot);
        PyErr_SetString(PyExc_RuntimeError, "can't start new thread");
        return NULL;
    }
    // Still holding the GIL, so the thread cannot have finished: it is running from
    // the caller's point of view as soon as start_new_thread returns.
    PyObject *id = PyLong_FromUnsignedLong(ident);
    if (id && PySet_Add(get_state(module)->running, id) < 0) {
        Py_CLEAR(id);
    }
    return id;
}

static PyObject *thread_stack_size(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("stack_size", nargs, 0, 1)) {
        return NULL;
    }
    thread_state *st = get_state(module);
    if (nargs == 0) {
        return PyLong_FromLong(st->stack_size);
    }
    long size = PyLong_AsLong(args[0]);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (size < QP_THREAD_MIN_STACK) {
        return PyLong_FromLong(-1); // the firmware refuses, it does not raise
    }
    st->stack_size = size;
    return PyLong_FromLong(0);
}

static int is_running(thread_state *st, PyObject *ident) {
    return PySet_Contains(st->running, ident);
}

static PyObject *thread_threadIsRunning(PyObject *module, PyObject *ident) {
    int r = is_running(get_state(module), ident);
    if (r < 0) {
        return NULL;
    }
    return PyBool_FromLong(r);
}

static PyObject *thread_stop_thread(PyObject *module, PyObject *arg) {
    thread_state *st = get_state(module);
    unsigned long self = PyThread_get_thread_ident();
    unsigned long target = PyLong_AsUnsignedLong(arg);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (target == 0) {
        target = self;
    }
    if (target == st->main_ident) {
        PyErr_SetString(PyExc_ValueError, "Deleting the main thread is not allowed!");
        return NULL;
    }
    PyObject *ident = PyLong_FromUnsignedLong(target);
    if (!ident) {
        return NULL;
    }
    int r = is_running(st, ident);
    Py_DECREF(ident);
    if (r < 0) {
        return NULL;
    }
    if (!r) {
        return PyErr_Format(PyExc_ValueError, "No thread with thread id %lu was found!",
                            target);
    }
    if (target == self) {
        PyErr_SetNone(PyExc_SystemExit);
        return NULL;
    }
    // The target ends with SystemExit at its next bytecode (a blocking C call first
    // returns, as a thread deleted on the device would not be woken either).
    PyThreadState_SetAsyncExc(target, PyExc_SystemExit);
    return PyLong_FromLong(0);
}

static PyObject *thread_running_count(PyObject *module, PyObject *unused) {
    (void)unused;
    return PyLong_FromSsize_t(PySet_GET_SIZE(get_state(module)->running));
}

static PyMethodDef thread_methods[] = {
    {"start_new_thread", (PyCFunction)(void (*)(void))thread_start_new_thread, METH_FASTCALL,
     NULL},
    {"stack_size", (PyCFunction)(void (*)(void))thread_stack_size, METH_FASTCALL, NULL},
    {"threadIsRunning", thread_threadIsRunning, METH_O, NULL},
    {"stop_thread", thread_stop_thread, METH_O, NULL},
    {"running_count", thread_running_count, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static int thread_exec(PyObject *module) {
    thread_state *st = get_state(module);
    st->stack_size = QP_THREAD_DEFAULT_STACK;
    st->main_ident = PyThread_get_thread_ident(); // modules are imported at boot, on main
    st->running = PySet_New(NULL);
    return st->running ? 0 : -1;
}

static int thread_traverse(PyObject *module, visitproc visit, void *arg) {
    Py_VISIT(get_state(module)->running);
    return 0;
}

static int thread_clear(PyObject *module) {
    Py_CLEAR(get_state(module)->running);
    return 0;
}

static void thread_free(void *module) {
    thread_clear(module);
}

static PyModuleDef_Slot thread_slots[] = {
    {Py_mod_exec, thread_exec},
    {0, NULL},
};

static struct PyModuleDef thread_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_qp_thread",
    .m_size = sizeof(thread_state),
    .m_methods = thread_methods,
    .m_slots = thread_slots,
    .m_traverse = thread_traverse,
    .m_clear = thread_clear,
    .m_free = thread_free,
};

PyMODINIT_FUNC PyInit__qp_thread(void);
PyMODINIT_FUNC PyInit__qp_thread(void) {
    return PyModuleDef_Init(&thread_module);
}
