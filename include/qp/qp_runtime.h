// qp_runtime.h - the virtual module's runtime: boots embedded CPython as a QuecPython
// module on a device, then runs a script or the REPL.
//
// The runtime owns the interpreter (isolated configuration, the platform modules, the
// frozen platform Python, the heap budget) and the module's life cycle: a script calling
// misc.Power.powerRestart() re-executes the program on the same device, and the boot
// that follows ends the `run` with QP_EXIT_RESTARTED.
#ifndef QP_RUNTIME_H
#define QP_RUNTIME_H

#include "qp/qp_device.h"

// Exit statuses of `qpy run` / `qpy repl` (README "Exit status").
#define QP_EXIT_OK 0          // the script finished
#define QP_EXIT_SCRIPT 1      // uncaught exception or syntax error in the script
#define QP_EXIT_USAGE 2       // bad command line, or the script file cannot be read
#define QP_EXIT_RESTARTED 3   // the module restarted and finished booting again
#define QP_EXIT_POWERED_DOWN 4 // the script powered the module down
#define QP_EXIT_DEVICE 5      // the device directory or its profile is unusable
#define QP_EXIT_INTERNAL 70   // the runtime itself failed (a bug: please report)

typedef enum qp_runtime_mode {
    QP_RUNTIME_RUN,   // run one script, then stop
    QP_RUNTIME_REPL,  // interactive prompt until Ctrl-D
    QP_RUNTIME_BOOT,  // boot only (what follows a restart during `run`)
    QP_RUNTIME_SERVE, // `qpy serve`: keep running, REPL on the console pty (below)
} qp_runtime_mode_t;

typedef struct qp_runtime_config {
    const char *device_dir;            // the device (profile already loaded by the caller)
    const qp_device_profile_t *profile;
    qp_runtime_mode_t mode;
    const char *script;                // QP_RUNTIME_RUN: path of the script
    int power_on_reason;               // 0: cold boot (PWRKEY)
    int power_down_reason;             // how the previous session ended
    int restarted_from_run;            // this boot follows powerRestart() in `run`
    int verbose;                       // qpy -v: the runtime may speak on stderr
    const char *self_exe;              // program to re-execute on restart
    // QP_RUNTIME_SERVE: the REPL port's pseudo-terminal (qp_hal_console_make_pty), kept
    // open across restarts (passed on with --console-fd MASTER,SLAVE).
    int console_master_fd;
    int console_slave_fd;
} qp_runtime_config_t;

// Boots the module and does what `mode` says. Returns the exit status (QP_EXIT_*); a
// restart does not return here, since the process is re-executed.
int qp_runtime_main(const qp_runtime_config_t *cfg);

#endif
