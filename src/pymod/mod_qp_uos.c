// mod_qp_uos.c - `_qp_uos`, the file functions of QuecPython's uos over the module's
// namespace (qp_vfs: /usr, /bak, the current directory). The frozen `uos` module
// re-exports them with uname/urandom.
//
// Results have MicroPython's shapes: stat is a 10-tuple with the mode at 0 (0x4000
// directory, 0x8000 file) and the size at 6, times 0 (littlefs v1 keeps none); ilistdir
// yields (name, type, 0, size); statvfs is (bsize, frsize, blocks, bfree, bavail, 0, 0, 0,
// 0, namemax). Errors are OSError(errno) as qp_py_raise makes them.
//
// VfsLfs1/VfsLfs2(readsize, progsize, lookahead, pname) are QuecPython's: a file-system
// partition by name (the sizes are accepted and unused, as QuecPython documents them), with
// mkfs(...) taking the same arguments; mount(vfs, path, readonly=False) and umount(path)
// place it in the namespace. All of it is qp_storage's (qp_storage_volume_find,
// qp_storage_mkfs, qp_storage_mount, qp_storage_umount); this file only converts.
#include "qp_pymod.h"

#include "qp/qp_hal.h"
#include "qp/qp_storage.h"
#include "qp/qp_vfs.h"

#define MODE_DIR 0x4000
#define MODE_FILE 0x8000

// The namespace, or NULL with OSError(ENODEV) set.
static qp_vfs_t *storage(void) {
    qp_vfs_t *vfs = qp_hal_storage();
    if (!vfs) {
        qp_py_raise(-ENODEV);
    }
    return vfs;
}

// Parses an optional path argument ("" when absent: the current directory).
static int path_arg(PyObject *const *args, Py_ssize_t nargs, const char *fname,
                    const char **path) {
    if (!_PyArg_CheckPositional(fname, nargs, 0, 1)) {
        return -1;
    }
    *path = "";
    if (nargs == 1 && !(*path = PyUnicode_AsUTF8(args[0]))) {
        return -1;
    }
    return 0;
}

// The entries of a directory as a list of (name, type, 0, size) tuples, or names only.
static PyObject *list_dir(const char *path, int names_only) {
    qp_vfs_t *vfs = storage();
    if (!vfs) {
        return NULL;
    }
    qp_vfs_dir_t dir;
    int err = qp_vfs_dir_open(vfs, &dir, path);
    if (err < 0) {
        return qp_py_raise(err);
    }
    PyObject *list = PyList_New(0);
    qp_fs_info_t info;
    while (list && (err = qp_vfs_dir_read(vfs, &dir, &info)) > 0) {
        PyObject *item = names_only
            ? PyUnicode_FromString(info.name)
            : Py_BuildValue("(siiI)", info.name,
                            info.type == QP_FS_TYPE_DIR ? MODE_DIR : MODE_FILE, 0,
                            info.type == QP_FS_TYPE_DIR ? 0u : info.size);
        if (!item || PyList_Append(list, item) < 0) {
            Py_CLEAR(list);
        }
        Py_XDECREF(item);
    }
    qp_vfs_dir_close(vfs, &dir);
    if (list && err < 0) {
        Py_DECREF(list);
        return qp_py_raise(err);
    }
    return list;
}

static PyObject *uos_listdir(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    const char *path;
    return path_arg(args, nargs, "listdir", &path) < 0 ? NULL : list_dir(path, 1);
}

static PyObject *uos_ilistdir(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    const char *path;
    if (path_arg(args, nargs, "ilistdir", &path) < 0) {
        return NULL;
    }
    PyObject *list = list_dir(path, 0);
    PyObject *iter = list ? PyObject_GetIter(list) : NULL;
    Py_XDECREF(list);
    return iter;
}

// Runs a one-path operation and maps its result.
static PyObject *path_op(PyObject *arg, int (*op)(qp_vfs_t *, const char *)) {
    const char *path = PyUnicode_AsUTF8(arg);
    qp_vfs_t *vfs = path ? storage() : NULL;
    if (!vfs) {
        return NULL;
    }
    int err = op(vfs, path);
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyObject *uos_mkdir(PyObject *module, PyObject *arg) {
    (void)module;
    return path_op(arg, qp_vfs_mkdir);
}

static PyObject *uos_rmdir(PyObject *module, PyObject *arg) {
    (void)module;
    return path_op(arg, qp_vfs_rmdir);
}

static PyObject *uos_remove(PyObject *module, PyObject *arg) {
    (void)module;
    return path_op(arg, qp_vfs_remove);
}

static PyObject *uos_chdir(PyObject *module, PyObject *arg) {
    (void)module;
    return path_op(arg, qp_vfs_chdir);
}

static PyObject *uos_rename(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!_PyArg_CheckPositional("rename", nargs, 2, 2)) {
        return NULL;
    }
    const char *from = PyUnicode_AsUTF8(args[0]);
    const char *to = from ? PyUnicode_AsUTF8(args[1]) : NULL;
    qp_vfs_t *vfs = to ? storage() : NULL;
    if (!vfs) {
        return NULL;
    }
    int err = qp_vfs_rename(vfs, from, to);
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyObject *uos_stat(PyObject *module, PyObject *arg) {
    (void)module;
    const char *path = PyUnicode_AsUTF8(arg);
    qp_vfs_t *vfs = path ? storage() : NULL;
    if (!vfs) {
        return NULL;
    }
    qp_vfs_stat_t st;
    int err = qp_vfs_stat(vfs, path, &st);
    if (err < 0) {
        return qp_py_raise(err);
    }
    return Py_BuildValue("(iiiiiiIiii)", st.type == QP_FS_TYPE_DIR ? MODE_DIR : MODE_FILE, 0,
                         0, 0, 0, 0, st.size, 0, 0, 0);
}

static PyObject *uos_statvfs(PyObject *module, PyObject *arg) {
    (void)module;
    const char *path = PyUnicode_AsUTF8(arg);
    qp_vfs_t *vfs = path ? storage() : NULL;
    if (!vfs) {
        return NULL;
    }
    qp_vfs_statvfs_t st;
    int err = qp_vfs_statvfs(vfs, path, &st);
    if (err < 0) {
        return qp_py_raise(err);
    }
    return Py_BuildValue("(IIIIIiiiiI)", st.block_size, st.block_size, st.blocks,
                         st.blocks_free, st.blocks_free, 0, 0, 0, 0, st.name_max);
}

static PyObject *uos_getcwd(PyObject *module, PyObject *unused) {
    (void)module, (void)unused;
    qp_vfs_t *vfs = storage();
    return vfs ? PyUnicode_FromString(qp_vfs_getcwd(vfs)) : NULL;
}

static PyObject *uos_urandom(PyObject *module, PyObject *arg) {
    (void)module;
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "negative length");
        }
        return NULL;
    }
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, n);
    if (bytes && qp_hal_random(PyBytes_AS_STRING(bytes), (size_t)n) < 0) {
        Py_DECREF(bytes);
        return qp_py_raise(QP_ERR_IO);
    }
    return bytes;
}

// ---- VfsLfs1, VfsLfs2, mount, umount ----

typedef struct {
    PyTypeObject *lfs1_type;
    PyTypeObject *lfs2_type;
} uos_state;

typedef struct {
    PyObject_HEAD
    qp_storage_volume_t *volume; // in the runtime's storage, alive while the module runs
    int lfs;                     // 1 or 2
} vfs_object;

// The storage, or NULL with OSError(ENODEV) set.
static qp_storage_t *volumes(void) {
    qp_storage_t *st = qp_hal_volumes();
    if (!st) {
        qp_py_raise(-ENODEV);
    }
    return st;
}

// The littlefs version a VfsLfs1 or VfsLfs2 class stands for.
static int class_lfs(PyTypeObject *cls) {
    uos_state *state = PyType_GetModuleState(cls);
    return state && cls == state->lfs2_type ? 2 : 1;
}

// Parses (readsize, progsize, lookahead, pname); returns pname or NULL.
static const char *vfs_args(PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"readsize", "progsize", "lookahead", "pname", NULL};
    int readsize, progsize, lookahead;
    const char *pname;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iiis", kwlist, &readsize, &progsize,
                                     &lookahead, &pname)) {
        return NULL;
    }
    return pname;
}

static PyObject *vfs_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    const char *pname = vfs_args(args, kwds);
    qp_storage_t *st = pname ? volumes() : NULL;
    if (!st) {
        return NULL;
    }
    qp_storage_volume_t *volume;
    int err = qp_storage_volume_find(st, pname, class_lfs(type), &volume);
    if (err < 0) {
        return qp_py_raise(err);
    }
    vfs_object *self = (vfs_object *)type->tp_alloc(type, 0);
    if (self) {
        self->volume = volume;
        self->lfs = class_lfs(type);
    }
    return (PyObject *)self;
}

static void vfs_dealloc(PyObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *vfs_repr(PyObject *op) {
    vfs_object *self = (vfs_object *)op;
    return PyUnicode_FromFormat("<VfsLfs%d %s>", self->lfs, self->volume->partition);
}

static PyObject *vfs_mkfs(PyObject *cls, PyObject *args, PyObject *kwds) {
    const char *pname = vfs_args(args, kwds);
    qp_storage_t *st = pname ? volumes() : NULL;
    if (!st) {
        return NULL;
    }
    int err = qp_storage_mkfs(st, pname, class_lfs((PyTypeObject *)cls));
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyMethodDef vfs_methods[] = {
    {"mkfs", (PyCFunction)(void (*)(void))vfs_mkfs, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot vfs_slots[] = {
    {Py_tp_new, vfs_new},
    {Py_tp_dealloc, vfs_dealloc},
    {Py_tp_repr, vfs_repr},
    {Py_tp_methods, vfs_methods},
    {0, NULL},
};

static PyType_Spec lfs1_spec = {
    .name = "uos.VfsLfs1",
    .basicsize = sizeof(vfs_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = vfs_slots,
};

static PyType_Spec lfs2_spec = {
    .name = "uos.VfsLfs2",
    .basicsize = sizeof(vfs_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = vfs_slots,
};

static PyObject *uos_mount(PyObject *module, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"vfs", "mount_point", "readonly", NULL};
    PyObject *vfs;
    const char *path;
    int readonly = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Os|$p", kwlist, &vfs, &path, &readonly)) {
        return NULL;
    }
    uos_state *state = PyModule_GetState(module);
    if (!Py_IS_TYPE(vfs, state->lfs1_type) && !Py_IS_TYPE(vfs, state->lfs2_type)) {
        PyErr_SetString(PyExc_TypeError, "mount: need a VfsLfs1 or VfsLfs2 object");
        return NULL;
    }
    qp_storage_t *st = volumes();
    if (!st) {
        return NULL;
    }
    vfs_object *v = (vfs_object *)vfs;
    int err = qp_storage_mount(st, v->volume, v->lfs, path,
                               readonly ? QP_VFS_MOUNT_READONLY : 0);
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyObject *uos_umount(PyObject *module, PyObject *arg) {
    (void)module;
    const char *path = PyUnicode_AsUTF8(arg);
    qp_storage_t *st = path ? volumes() : NULL;
    if (!st) {
        return NULL;
    }
    int err = qp_storage_umount(st, path);
    if (err < 0) {
        return qp_py_raise(err);
    }
    Py_RETURN_NONE;
}

static PyMethodDef uos_methods[] = {
    {"chdir", uos_chdir, METH_O, NULL},
    {"getcwd", uos_getcwd, METH_NOARGS, NULL},
    {"ilistdir", (PyCFunction)(void (*)(void))uos_ilistdir, METH_FASTCALL, NULL},
    {"listdir", (PyCFunction)(void (*)(void))uos_listdir, METH_FASTCALL, NULL},
    {"mkdir", uos_mkdir, METH_O, NULL},
    {"mount", (PyCFunction)(void (*)(void))uos_mount, METH_VARARGS | METH_KEYWORDS, NULL},
    {"remove", uos_remove, METH_O, NULL},
    {"rmdir", uos_rmdir, METH_O, NULL},
    {"rename", (PyCFunction)(void (*)(void))uos_rename, METH_FASTCALL, NULL},
    {"stat", uos_stat, METH_O, NULL},
    {"statvfs", uos_statvfs, METH_O, NULL},
    {"umount", uos_umount, METH_O, NULL},
    {"urandom", uos_urandom, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static int uos_exec(PyObject *module) {
    uos_state *st = PyModule_GetState(module);
    st->lfs1_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &lfs1_spec, NULL);
    st->lfs2_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &lfs2_spec, NULL);
    if (!st->lfs1_type || !st->lfs2_type
        || PyModule_AddObjectRef(module, "VfsLfs1", (PyObject *)st->lfs1_type) < 0
        || PyModule_AddObjectRef(module, "VfsLfs2", (PyObject *)st->lfs2_type) < 0) {
        return -1;
    }
    return 0;
}

static int uos_traverse(PyObject *module, visitproc visit, void *arg) {
    uos_state *st = PyModule_GetState(module);
    Py_VISIT(st->lfs1_type);
    Py_VISIT(st->lfs2_type);
    return 0;
}

static int uos_clear(PyObject *module) {
    uos_state *st = PyModule_GetState(module);
    Py_CLEAR(st->lfs1_type);
    Py_CLEAR(st->lfs2_type);
    return 0;
}

static void uos_free(void *module) {
    uos_clear(module);
}

static PyModuleDef_Slot uos_slots[] = {
    {Py_mod_exec, uos_exec},
    {0, NULL},
};

static struct PyModuleDef uos_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_qp_uos",
    .m_size = sizeof(uos_state),
    .m_methods = uos_methods,
    .m_slots = uos_slots,
    .m_traverse = uos_traverse,
    .m_clear = uos_clear,
    .m_free = uos_free,
};

PyMODINIT_FUNC PyInit__qp_uos(void);
PyMODINIT_FUNC PyInit__qp_uos(void) {
    return PyModuleDef_Init(&uos_module);
}
