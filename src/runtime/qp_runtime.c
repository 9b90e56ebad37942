// qp_runtime.c - boots embedded CPython as a QuecPython module and runs it.
//
// Order matters here (CPython's embedding rules and house-style trap 5): isolated
// pre-configuration, then the budgeted allocator, then the built-in module table, then
// the interpreter with an isolated configuration and its own sys.path (Debian's standard
// library only: no site-packages, no PYTHON* variables, no user directories). Then the
// frozen boot module (_qp_boot) takes over. Restarts re-execute this program on the same
// device with the boot reason on the command line, which is what a module's reset is to
// the script: everything in RAM is gone, the flash (the device directory) remains.
#include "qp_runtime_internal.h"

#include "qp/qp_err.h"
#include "qp/qp_fota_store.h"
#include "qp/qp_hal.h"
#include "qp/qp_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QP_MODULE(name, init) PyMODINIT_FUNC init(void);
#include "modules.def"
#undef QP_MODULE

static const qp_runtime_config_t *boot_config;
static qp_storage_t storage; // the device's flash, /usr and /bak, while the module runs
static int power_cut_armed;  // QPY_POWER_CUT was given: report the flash operations at exit
static uint64_t power_cut_ops0; // the flash's operation count when the cut was armed
static qp_firmware_t firmware; // the image the module booted from

const qp_firmware_t *qp_runtime_firmware(void) {
    return &firmware;
}

const qp_runtime_config_t *qp_runtime_config(void) {
    return boot_config;
}

static void flush_output(void) {
    fflush(stdout);
    fflush(stderr);
}

// misc.Power.powerRestart(): the process image is replaced by a fresh boot on the same
// device. In `run` mode the new boot ends the run with QP_EXIT_RESTARTED; in the REPL
// the module comes back to its prompt.
static void restart_module(void *ctx) {
    const qp_runtime_config_t *cfg = ctx;
    flush_output();
    // Release the flash (and its lock) as a reset would; the new boot opens it again.
    qp_storage_close(&storage);
    const char *argv[14];
    int argc = 0;
    argv[argc++] = cfg->self_exe;
    if (cfg->verbose) {
        argv[argc++] = "-v";
    }
    argv[argc++] = "--device";
    argv[argc++] = cfg->device_dir;
    argv[argc++] = "--power-on-reason";
    argv[argc++] = "2";
    char fds[32];
    if (cfg->mode == QP_RUNTIME_SERVE) {
        // The REPL port's pty survives the exec, so its path stays the same (DESIGN.md).
        snprintf(fds, sizeof fds, "%d,%d", cfg->console_master_fd, cfg->console_slave_fd);
        argv[argc++] = "--console-fd";
        argv[argc++] = fds;
        argv[argc++] = "serve";
    } else {
        argv[argc++] = cfg->mode == QP_RUNTIME_REPL ? "repl" : "boot";
    }
    if (cfg->mode != QP_RUNTIME_REPL && cfg->mode != QP_RUNTIME_SERVE) {
        argv[argc++] = "--after-restart";
    }
    argv[argc] = NULL;
    execv(cfg->self_exe, (char *const *)argv);
    fprintf(stderr, "qpy: restart failed: cannot execute %s\n", cfg->self_exe);
    _exit(QP_EXIT_INTERNAL);
}

static void power_down_module(void *ctx) {
    (void)ctx;
    flush_output();
    _exit(QP_EXIT_POWERED_DOWN);
}

static void set_identity(const qp_device_profile_t *p) {
    qp_hal_modem_set(QP_HAL_MODEM_IMEI, p->imei);
    qp_hal_modem_set(QP_HAL_MODEM_MODEL, p->model);
    qp_hal_modem_set(QP_HAL_MODEM_SN, p->sn);
    qp_hal_modem_set(QP_HAL_MODEM_FW_VERSION, p->fw_version);
    qp_hal_modem_set(QP_HAL_MODEM_PRODUCT_ID, p->manufacturer);
}

// Mounts /usr and /bak, each as littlefs v1 or else v2. A partition with neither is
// formatted, as the module's boot does, in the version the profile configures, and we say
// so: it means the user's files are gone (or never were there).
static int open_storage(const qp_runtime_config_t *cfg) {
    char msg[512];
    qp_storage_format_t fmt = qp_storage_format_of(cfg->profile);
    int err = qp_storage_open(&storage, cfg->device_dir,
                              QP_STORAGE_FORMAT_IF_EMPTY | QP_STORAGE_BAK_READONLY, &fmt, msg,
                              sizeof msg);
    if (err < 0) {
        fprintf(stderr, "qpy: %s\n", msg);
        return QP_EXIT_DEVICE;
    }
    const qp_storage_volume_t *volumes[] = {&storage.usr, &storage.bak};
    for (int i = 0; i < 2; i++) {
        if (volumes[i]->formatted) {
            fprintf(stderr, "qpy: %s held no file system: formatted it (littlefs v%u), "
                    "mounted at /%s\n", volumes[i]->partition,
                    (unsigned)(volumes[i]->fs.disk_version >> 16), volumes[i]->mount_name);
        }
    }
    if (cfg->verbose) {
        fprintf(stderr, "qpy: mounted customer_fs at /usr, customer_backup_fs at /bak\n");
    }
    qp_hal_storage_set(&storage.vfs);
    qp_hal_volumes_set(&storage);
    return 0;
}

// Test seam for the power-cut campaigns (tests/stress, docs/TESTING.md): QPY_POWER_CUT=K:SEED
// cuts the device flash's power at its K-th program or erase from here on (the boot-time
// FOTA apply, the restore, the script), torn as SEED says (qp_flash_powercut_arm). From
// the cut on every flash operation fails, so nothing the rest of the run does can reach
// the flash, as if the module had lost power; the process then ends on its own. K = 0
// only counts. At exit one line on stderr gives the operations done since the arming and
// whether the cut fired. The variable is removed at once, so a restart boots with power.
static void arm_power_cut(void) {
    const char *spec = getenv("QPY_POWER_CUT");
    if (!spec) {
        return;
    }
    char *end;
    unsigned long long k = strtoull(spec, &end, 10);
    unsigned long long seed = *end == ':' ? strtoull(end + 1, NULL, 10) : 0;
    unsetenv("QPY_POWER_CUT");
    power_cut_armed = 1;
    power_cut_ops0 = qp_flash_op_count(&storage.flash);
    qp_flash_powercut_arm(&storage.flash, k, seed);
}

static void report_power_cut(void) {
    if (power_cut_armed) {
        fprintf(stderr, "qpy: power cut: %llu flash operations, %s\n",
                (unsigned long long)(qp_flash_op_count(&storage.flash) - power_cut_ops0),
                qp_flash_is_powered(&storage.flash) ? "power kept" : "power lost");
    }
}

// A FOTA package verified before the restart is applied in place now, before the firmware
// is loaded (qp_fota_boot); an interrupted upgrade resumes here on the next boot. A key in
// the device profile is the device's own: pinned for the fota module, and required here.
static void apply_fota(const qp_runtime_config_t *cfg) {
    char msg[256] = "";
    qp_fota_device_set(&storage.flash, &storage.table);
    const char *key = cfg->profile->fota_public_key;
    if (key[0] && qp_fota_device_key_set(key, strlen(key), 1, msg, sizeof msg) < 0) {
        fprintf(stderr, "qpy: FOTA: no upgrade: fota_public_key: %s\n", msg);
        return;
    }
    int r = qp_fota_boot(&storage.flash, &storage.table, msg, sizeof msg);
    if (r == 1 && cfg->verbose) {
        fprintf(stderr, "qpy: FOTA: firmware upgraded\n");
    } else if (r < 0) {
        fprintf(stderr, "qpy: FOTA: upgrade %s: %s\n",
                r == QP_ERR_IO || r == QP_ERR_NOMEM ? "interrupted (resumes at next boot)"
                                                     : "refused, old firmware kept",
                msg[0] ? msg : qp_strerror(r));
    }
}

// Checks the firmware in the flash and loads its app section: the platform's Python.
// The module reports the image's version and refuses an image made for another model,
// as the bootloader would.
static int load_firmware(const qp_runtime_config_t *cfg) {
    char msg[512];
    int err = qp_firmware_load(&firmware, &storage.flash, &storage.table, msg, sizeof msg);
    if (err < 0) {
        fprintf(stderr, "qpy: %s: the module cannot boot: %s\n"
                        "qpy: install firmware with: qpy --device %s flash --firmware IMAGE\n",
                cfg->device_dir, msg, cfg->device_dir);
        return QP_EXIT_DEVICE;
    }
    if (strcmp(firmware.info.model, cfg->profile->model) != 0) {
        fprintf(stderr, "qpy: %s: the installed firmware is for an %s, this module is an %s\n",
                cfg->device_dir, firmware.info.model, cfg->profile->model);
        qp_firmware_free(&firmware);
        return QP_EXIT_DEVICE;
    }
    qp_hal_modem_set(QP_HAL_MODEM_FW_VERSION, firmware.info.version);
    if (cfg->verbose) {
        fprintf(stderr, "qpy: firmware %s (%s)\n", firmware.info.version, firmware.info.model);
    }
    return 0;
}

static int fail_status(PyStatus status) {
    if (PyStatus_IsExit(status)) {
        return status.exitcode;
    }
    fprintf(stderr, "qpy: cannot start the interpreter: %s%s%s\n",
            status.func ? status.func : "", status.func ? ": " : "",
            status.err_msg ? status.err_msg : "unknown error");
    return QP_EXIT_INTERNAL;
}

static int start_interpreter(const qp_runtime_config_t *cfg) {
    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1; // scripts and logs are UTF-8 whatever the host locale
    PyStatus status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status)) {
        return fail_status(status);
    }
    qp_pyalloc_install(cfg->profile->heap_size);

#define QP_MODULE(name, init) PyImport_AppendInittab(#name, init);
#include "modules.def"
#undef QP_MODULE

    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0;
    config.buffered_stdio = 0;       // output appears as the module prints it
    config.write_bytecode = 0;
    config.pathconfig_warnings = 0;
    config.install_signal_handlers = 1; // Ctrl-C raises KeyboardInterrupt
    config.module_search_paths_set = 1;
    status = PyConfig_SetBytesString(&config, &config.program_name, "qpy");
    if (!PyStatus_Exception(status)) {
        status = PyWideStringList_Append(&config.module_search_paths, QP_PYTHON_STDLIB);
    }
    if (!PyStatus_Exception(status)) {
        status = PyWideStringList_Append(&config.module_search_paths, QP_PYTHON_DYNLOAD);
    }
    if (!PyStatus_Exception(status)) {
        char *argv[] = {(char *)(cfg->script ? cfg->script : ""), NULL};
        status = PyConfig_SetBytesArgv(&config, 1, argv);
    }
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        return fail_status(status);
    }
    return 0;
}

// Compiles and runs the firmware's _qp_boot module, then returns _qp_boot.main()'s status.
static int run_boot_module(void) {
    const uint8_t *source;
    size_t len;
    if (qp_firmware_app_file(&firmware, "_qp_boot.py", &source, &len) < 0) {
        fprintf(stderr, "qpy: the firmware has no boot module (_qp_boot.py in its app)\n");
        return QP_EXIT_INTERNAL;
    }
    PyObject *text = PyUnicode_DecodeUTF8((const char *)source, (Py_ssize_t)len, "strict");
    const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
    PyObject *code = utf8 ? Py_CompileString(utf8, "_qp_boot.py", Py_file_input) : NULL;
    Py_XDECREF(text);
    PyObject *module = code ? PyImport_ExecCodeModule("_qp_boot", code) : NULL;
    Py_XDECREF(code);
    PyObject *result = module ? PyObject_CallMethod(module, "main", NULL) : NULL;
    Py_XDECREF(module);
    if (!result) {
        // A failure of the platform's own code, not the script's: say so.
        fprintf(stderr, "qpy: the module failed to boot:\n");
        PyErr_Print();
        return QP_EXIT_INTERNAL;
    }
    long status = PyLong_AsLong(result);
    Py_DECREF(result);
    if (status == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return QP_EXIT_INTERNAL;
    }
    return (int)(status & 0xff);
}

int qp_runtime_main(const qp_runtime_config_t *cfg) {
    boot_config = cfg;
    (void)qp_hal_clock_us(); // ticks count from here, the module's power-on
    set_identity(cfg->profile);
    qp_hal_power_set_reasons(cfg->power_on_reason ? cfg->power_on_reason
                                                  : QP_HAL_POWER_ON_PWRKEY,
                             cfg->power_down_reason);
    qp_hal_power_ops_t ops = {restart_module, power_down_module, (void *)cfg};
    qp_hal_power_set_ops(&ops);

    int status = open_storage(cfg);
    if (status == 0) {
        arm_power_cut();
        apply_fota(cfg);
    }
    if (status == 0 && (status = load_firmware(cfg)) != 0) {
        report_power_cut();
        qp_storage_close(&storage);
    }
    if (status != 0) {
        return status;
    }
    status = start_interpreter(cfg);
    if (status == 0) {
        status = run_boot_module();
        if (Py_FinalizeEx() < 0 && status == 0) {
            status = QP_EXIT_INTERNAL; // could not flush buffered output
        }
    }
    qp_hal_storage_set(NULL);
    qp_hal_volumes_set(NULL);
    report_power_cut();
    qp_storage_close(&storage);
    qp_firmware_free(&firmware);
    if (cfg->restarted_from_run && status == 0) {
        status = QP_EXIT_RESTARTED;
    }
    return status;
}
