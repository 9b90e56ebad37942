// qp_frozen.h - the table of frozen platform Python modules built into qpy.
//
// Generated at build time from src/runtime/frozen/*.py (cmake/embed_files.cmake). The
// runtime's importer (_qp_boot) serves these names before anything on sys.path.
#ifndef QP_FROZEN_H
#define QP_FROZEN_H

#include <stddef.h>

typedef struct qp_frozen_module {
    const char *name;                  // module name, e.g. "log"
    const unsigned char *source;       // UTF-8 source, NUL-terminated
    size_t size;                       // bytes, without the NUL
} qp_frozen_module_t;

extern const qp_frozen_module_t qp_frozen_modules[]; // ends with a NULL name

#endif
