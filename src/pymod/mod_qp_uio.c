// mod_qp_uio.c - `_qp_uio`: files on the module's file systems, as MicroPython's
// io.FileIO (binary) and io.TextIOWrapper (text) objects; uio.open and the builtin open
// are its open(). The frozen `uio` module re-exports it with BytesIO/StringIO.
//
// A file's littlefs cache (one block) is allocated from the Python heap, so it counts
// against the module's budget as it does on the device. Text mode reads and writes UTF-8;
// read(n) returns at least n bytes' worth, completing a character cut at the end. All
// calls hold the GIL, which serialises access to the (not thread-safe) file system.
#include "qp_pymod.h"

#include "qp/qp_hal.h"
#include "qp/qp_vfs.h"

#include <string.h>

typedef struct {
    PyTypeObject *fileio_type;
    PyTypeObject *textio_type;
} uio_state;

typedef struct {
    PyObject_HEAD
    qp_vfs_file_t file;
    void *cache;     // cache_size bytes, PyMem
    int text;
    int is_open;
} file_object;

static qp_vfs_t *storage(void) {
    qp_vfs_t *vfs = qp_hal_storage();
    if (!vfs) {
        qp_py_raise(-ENODEV);
    }
    return vfs;
}

// The open file's namespace, or NULL with OSError(EBADF) set for a closed file.
static qp_vfs_t *open_file(file_object *self) {
    if (!self->is_open) {
        qp_py_raise(QP_ERR_BADF);
        return NULL;
    }
    return storage();
}

static int close_file(file_object *self) {
    int err = 0;
    if (self->is_open) {
        qp_vfs_t *vfs = qp_hal_storage();
        err = vfs ? qp_vfs_file_close(vfs, &self->file) : 0;
        self->is_open = 0;
    }
    PyMem_Free(self->cache);
    self->cache = NULL;
    return err;
}

static PyObject *to_result(file_object *self, const char *data, Py_ssize_t len) {
    return self->text ? PyUnicode_DecodeUTF8(data, len, "replace")
                      : PyBytes_FromStringAndSize(data, len);
}

// Bytes needed to finish a UTF-8 character whose lead byte is among the last bytes read.
static Py_ssize_t utf8_missing(const unsigned char *data, Py_ssize_t len) {
    for (Py_ssize_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = data[len - back];
        if ((c & 0xC0) != 0x80) { // a lead byte (or ASCII)
            Py_ssize_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            return need > back ? need - back : 0;
        }
    }
    return 0;
}

// Reads up to `want` bytes (all that is left when want < 0) into a new buffer.
static int read_bytes(file_object *self, qp_vfs_t *vfs, Py_ssize_t want, char **out,
                      Py_ssize_t *outlen) {
    if (want < 0) {
        int32_t size = qp_vfs_file_size(vfs, &self->file);
        int32_t pos = qp_vfs_file_tell(vfs, &self->file);
        if (size < 0 || pos < 0) {
            return size < 0 ? size : pos;
        }
        want = size > pos ? size - pos : 0;
    }
    char *buf = PyMem_Malloc((size_t)want + 4);
    if (!buf) {
        PyErr_NoMemory();
        return QP_ERR_NOMEM;
    }
    int n = qp_vfs_file_read(vfs, &self->file, buf, (size_t)want);
    if (n >= 0 && self->text && n > 0) {
        Py_ssize_t more = utf8_missing((unsigned char *)buf, n);
        int m = more ? qp_vfs_file_read(vfs, &self->file, buf + n, (size_t)more) : 0;
        n = m < 0 ? m : n + m;
    }
    if (n < 0) {
        PyMem_Free(buf);
        return n;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static PyObject *file_read(file_object *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("read", nargs, 0, 1)) {
        return NULL;
    }
    Py_ssize_t want = -1;
    if (nargs == 1 && args[0] != Py_None && (want = PyLong_AsSsize_t(args[0])) == -1
        && PyErr_Occurred()) {
        return NULL;
    }
    qp_vfs_t *vfs = open_file(self);
    if (!vfs) {
        return NULL;
    }
    char *buf;
    Py_ssize_t len;
    int err = read_bytes(self, vfs, want, &buf, &len);
    if (err < 0) {
        return PyErr_Occurred() ? NULL : qp_py_raise(err);
    }
    PyObject *result = to_result(self, buf, len);
    PyMem_Free(buf);
    return result;
}

// One line, including its "\n", at most `limit` bytes (limit < 0: no limit).
static PyObject *read_line(file_object *self, Py_ssize_t limit) {
    qp_vfs_t *vfs = open_file(self);
    if (!vfs) {
        return NULL;
    }
    Py_ssize_t cap = 64, len = 0;
    char *buf = PyMem_Malloc((size_t)cap);
    if (!buf) {
        return PyErr_NoMemory();
    }
    while (limit < 0 || len < limit) {
        if (len == cap) {
            char *bigger = PyMem_Realloc(buf, (size_t)cap * 2);
            if (!bigger) {
                PyMem_Free(buf);
                return PyErr_NoMemory();
            }
            buf = bigger;
            cap *= 2;
        }
        int n = qp_vfs_file_read(vfs, &self->file, buf + len, 1);
        if (n < 0) {
            PyMem_Free(buf);
            return qp_py_raise(n);
        }
        if (n == 0 || buf[len++] == '\n') {
            break;
        }
    }
    PyObject *result = to_result(self, buf, len);
    PyMem_Free(buf);
    return result;
}

static PyObject *file_readline(file_object *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("readline", nargs, 0, 1)) {
        return NULL;
    }
    Py_ssize_t limit = -1;
    if (nargs == 1 && args[0] != Py_None && (limit = PyLong_AsSsize_t(args[0])) == -1
        && PyErr_Occurred()) {
        return NULL;
    }
    return read_line(self, limit);
}

static PyObject *file_iternext(file_object *self) {
    PyObject *line = read_line(self, -1);
    if (line && PyObject_Length(line) == 0) {
        Py_DECREF(line);
        return NULL; // StopIteration
    }
    return line;
}

static PyObject *file_readlines(file_object *self, PyObject *unused) {
    (void)unused;
    PyObject *list = PyList_New(0);
    PyObject *line;
    while (list && (line = file_iternext(self)) != NULL) {
        if (PyList_Append(list, line) < 0) {
            Py_CLEAR(list);
        }
        Py_DECREF(line);
    }
    if (PyErr_Occurred()) {
        Py_XDECREF(list);
        return NULL;
    }
    return list;
}

static PyObject *file_readinto(file_object *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("readinto", nargs, 1, 2)) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    Py_ssize_t want = view.len;
    if (nargs == 2 && (want = PyLong_AsSsize_t(args[1])) == -1 && PyErr_Occurred()) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (want > view.len) {
        want = view.len;
    }
    qp_vfs_t *vfs = open_file(self);
    int n = vfs ? qp_vfs_file_read(vfs, &self->file, view.buf, (size_t)want) : 0;
    PyBuffer_Release(&view);
    if (!vfs) {
        return NULL;
    }
    return n < 0 ? qp_py_raise(n) : PyLong_FromLong(n);
}

static PyObject *file_write(file_object *self, PyObject *arg) {
    qp_vfs_t *vfs = open_file(self);
    if (!vfs) {
        return NULL;
    }
    Py_buffer view;
    const char *data;
    Py_ssize_t len;
    int have_view = 0;
    if (PyUnicode_Check(arg)) {
        if (!(data = PyUnicode_AsUTF8AndSize(arg, &len))) {
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
    int n = qp_vfs_file_write(vfs, &self->file, data, (size_t)len);
    if (have_view) {
        PyBuffer_Release(&view);
    }
    return n < 0 ? qp_py_raise(n) : PyLong_FromLong(n);
}

static PyObject *file_seek(file_object *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!_PyArg_CheckPositional("seek", nargs, 1, 2)) {
        return NULL;
    }
    long off = PyLong_AsLong(args[0]);
    int whence = nargs == 2 ? PyLong_AsInt(args[1]) : QP_FS_SEEK_SET;
    if (PyErr_Occurred()) {
        return NULL;
    }
    qp_vfs_t *vfs = open_file(self);
    if (!vfs) {
        return NULL;
    }
    if (off < INT32_MIN || off > INT32_MAX) {
        return qp_py_raise(QP_ERR_INVAL);
    }
    int32_t pos = qp_vfs_file_seek(vfs, &self->file, (int32_t)off, whence);
    return pos < 0 ? qp_py_raise(pos) : PyLong_FromLong(pos);
}

static PyObject *file_tell(file_object *self, PyObject *unused) {
    (void)unused;
    qp_vfs_t *vfs = open_file(self);
    int32_t pos = vfs ? qp_vfs_file_tell(vfs, &self->file) : 0;
    if (!vfs) {
        return NULL;
    }
    return pos < 0 ? qp_py_raise(pos) : PyLong_FromLong(pos);
}

static PyObject *file_flush(file_object *self, PyObject *unused) {
    (void)unused;
    qp_vfs_t *vfs = open_file(self);
    int err = vfs ? qp_vfs_file_sync(vfs, &self->file) : 0;
    if (!vfs) {
        return NULL;
    }
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyObject *file_close(file_object *self, PyObject *unused) {
    (void)unused;
    int err = close_file(self);
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyObject *file_enter(file_object *self, PyObject *unused) {
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *file_exit(file_object *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)args, (void)nargs;
    return file_close(self, NULL);
}

static PyObject *file_repr(file_object *self) {
    return PyUnicode_FromFormat("<io.%s %x>", self->text ? "TextIOWrapper" : "FileIO",
                                (unsigned)(uintptr_t)self);
}

static void file_dealloc(file_object *self) {
    PyTypeObject *type = Py_TYPE(self);
    close_file(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMethodDef file_methods[] = {
    {"read", (PyCFunction)(void (*)(void))file_read, METH_FASTCALL, NULL},
    {"readinto", (PyCFunction)(void (*)(void))file_readinto, METH_FASTCALL, NULL},
    {"readline", (PyCFunction)(void (*)(void))file_readline, METH_FASTCALL, NULL},
    {"readlines", (PyCFunction)file_readlines, METH_NOARGS, NULL},
    {"write", (PyCFunction)file_write, METH_O, NULL},
    {"seek", (PyCFunction)(void (*)(void))file_seek, METH_FASTCALL, NULL},
    {"tell", (PyCFunction)file_tell, METH_NOARGS, NULL},
    {"flush", (PyCFunction)file_flush, METH_NOARGS, NULL},
    {"close", (PyCFunction)file_close, METH_NOARGS, NULL},
    {"__enter__", (PyCFunction)file_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))file_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot file_slots[] = {
    {Py_tp_methods, file_methods},
    {Py_tp_repr, file_repr},
    {Py_tp_dealloc, file_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, file_iternext},
    {0, NULL},
};

static PyType_Spec fileio_spec = {
    .name = "io.FileIO",
    .basicsize = sizeof(file_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = file_slots,
};

static PyType_Spec textio_spec = {
    .name = "io.TextIOWrapper",
    .basicsize = sizeof(file_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = file_slots,
};

// Python's mode string to QP_FS_O_* flags and text/binary, or -1 when invalid.
static int parse_mode(const char *mode, int *text) {
    int base = 0, plus = 0, binary = 0, textual = 0;
    for (const char *c = mode; *c; c++) {
        switch (*c) {
        case 'r': base = base ? -1 : QP_FS_O_RDONLY; break;
        case 'w': base = base ? -1 : QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC; break;
        case 'a': base = base ? -1 : QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_APPEND; break;
        case 'x': base = base ? -1 : QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_EXCL; break;
        case '+': plus = 1; break;
        case 'b': binary = 1; break;
        case 't': textual = 1; break;
        default: return -1;
        }
    }
    if (base <= 0 || (binary && textual)) {
        return -1;
    }
    if (plus) {
        base = (base & ~3) | QP_FS_O_RDWR;
    }
    *text = !binary;
    return base;
}

static PyObject *uio_open(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"file", "mode", "buffering", "encoding", NULL};
    const char *path, *mode = "r", *encoding = NULL;
    int buffering = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|siz:open", keywords, &path, &mode,
                                     &buffering, &encoding)) {
        return NULL;
    }
    int text;
    int flags = parse_mode(mode, &text);
    if (flags < 0) {
        return PyErr_Format(PyExc_ValueError, "invalid mode: '%s'", mode);
    }
    qp_vfs_t *vfs = storage();
    if (!vfs) {
        return NULL;
    }
    int cache_size = qp_vfs_file_cache_size(vfs, path);
    if (cache_size < 0) {
        return qp_py_raise(cache_size);
    }
    uio_state *st = PyModule_GetState(module);
    PyTypeObject *type = text ? st->textio_type : st->fileio_type;
    file_object *self = PyObject_New(file_object, type);
    if (!self) {
        return NULL;
    }
    memset(&self->file, 0, sizeof self->file);
    self->text = text;
    self->is_open = 0;
    self->cache = PyMem_Malloc((size_t)cache_size);
    if (!self->cache) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    struct qp_fs_file_config cfg = {.buffer = self->cache};
    int err = qp_vfs_file_open(vfs, &self->file, path, flags, &cfg);
    if (err < 0) {
        Py_DECREF(self);
        return qp_py_raise(err);
    }
    self->is_open = 1;
    return (PyObject *)self;
}

static PyMethodDef uio_methods[] = {
    {"open", (PyCFunction)(void (*)(void))uio_open, METH_VARARGS | METH_KEYWORDS, NULL},
    {NULL, NULL, 0, NULL},
};

static int uio_exec(PyObject *module) {
    uio_state *st = PyModule_GetState(module);
    st->fileio_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &fileio_spec, NULL);
    st->textio_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &textio_spec, NULL);
    if (!st->fileio_type || !st->textio_type
        || PyModule_AddObjectRef(module, "FileIO", (PyObject *)st->fileio_type) < 0
        || PyModule_AddObjectRef(module, "TextIOWrapper", (PyObject *)st->textio_type) < 0) {
        return -1;
    }
    return 0;
}

static int uio_traverse(PyObject *module, visitproc visit, void *arg) {
    uio_state *st = PyModule_GetState(module);
    Py_VISIT(st->fileio_type);
    Py_VISIT(st->textio_type);
    return 0;
}

static int uio_clear(PyObject *module) {
    uio_state *st = PyModule_GetState(module);
    Py_CLEAR(st->fileio_type);
    Py_CLEAR(st->textio_type);
    return 0;
}

static void uio_free(void *module) {
    uio_clear(module);
}

static PyModuleDef_Slot uio_slots[] = {
    {Py_mod_exec, uio_exec},
    {0, NULL},
};

static struct PyModuleDef uio_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_qp_uio",
    .m_size = sizeof(uio_state),
    .m_methods = uio_methods,
    .m_slots = uio_slots,
    .m_traverse = uio_traverse,
    .m_clear = uio_clear,
    .m_free = uio_free,
};

PyMODINIT_FUNC PyInit__qp_uio(void);
PyMODINIT_FUNC PyInit__qp_uio(void) {
    return PyModuleDef_Init(&uio_module);
}
