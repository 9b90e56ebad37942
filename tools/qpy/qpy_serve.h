// qpy_serve.h - `qpy serve` (qpy_serve.c): a running module with its REPL on a pty.
#ifndef QPY_SERVE_H
#define QPY_SERVE_H

#include "qp/qp_runtime.h"

#include <stddef.h>

#define QPY_SERVE_LINK_NAME "repl"       // <device>/repl -> /dev/pts/N
#define QPY_SERVE_LOCK_NAME "serve.lock" // flock'ed while a module is served

// Serves the device of `cfg` (profile loaded, self_exe set) until SIGTERM or power-down.
// `console_fds` is the --console-fd argument a restart passes on, or NULL for a new
// server. Returns the exit status.
int qpy_serve_main(qp_runtime_config_t *cfg, const char *console_fds);

// The REPL port of a module being served from `device` (for --port auto).
// @retval QP_ERR_NOENT nobody serves the device
int qpy_serve_find(const char *device, char *port, size_t portlen);

#endif
