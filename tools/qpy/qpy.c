// qpy.c - the `qpy` program: the virtual QuecPython module and its device management.
//
//   qpy [-v] [--device DIR] [repl]        boot to the REPL
//   qpy [-v] [--device DIR] run SCRIPT    boot and run a script
//   qpy device new DIR [options]          create a device
//   qpy device show [DIR]                 print a device's profile
//
// The program only parses the command line, finds the device and hands over to the
// runtime library; it prints nothing itself unless asked (-v) or something is wrong, so
// module transcripts compare byte for byte.
#include "qp/qp_device.h"
#include "qp/qp_err.h"
#include "qp/qp_firmware.h"
#include "qp/qp_runtime.h"
#include "qp/qp_storage.h"
#include "qpy_flash.h"
#include "qpy_fs.h"
#include "qpy_port.h"
#include "qpy_serve.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: qpy [-v] [--device DIR] [COMMAND]\n"
    "\n"
    "The virtual QuecPython module (EC600S/EC100Y) on this computer.\n"
    "\n"
    "Commands:\n"
    "  repl                 boot the module to its REPL (the default)\n"
    "  run SCRIPT.py        boot the module and run a script as __main__\n"
    "  serve                keep the module running, its REPL on a pseudo-terminal\n"
    "                       (path printed and linked as DIR/repl) until SIGTERM\n"
    "  device new DIR [--model EC600S|EC100Y] [--imei N] [--sn S] [--fw-version V]\n"
    "             [--lfs-version 1|2] [--fota-key PUB.pem]\n"
    "                       create a device (directory with its profile, device.json);\n"
    "                       --lfs-version: the littlefs /usr and /bak are formatted\n"
    "                       with (default 1, as the EC600S and EC100Y firmware);\n"
    "                       --fota-key: accept only FOTA packages signed with this\n"
    "                       key's private half (adiff --pubkey writes PUB.pem)\n"
    "  device show [DIR]    print a device's profile\n"
    "  fs ls|cat|cp|rm|mkdir|df ...\n"
    "                       the files of a device that is not running ('qpy fs --help')\n"
    "  flash [--customer-fs F] [--backup-fs F] [--firmware F] | flash BUNDLE\n"
    "                       burn images into a device that is not running\n"
    "\n"
    "Options:\n"
    "  --port PORT          work on a running module over a serial port (a pty or\n"
    "                       /dev/ttyUSB*; 'auto': the served --device): fs ..., run\n"
    "                       SCRIPT, exec CODE, repl, reset ('qpy --port P --help')\n"
    "  --device DIR         the device to boot (default: $XDG_DATA_HOME/openqpy/default,\n"
    "                       created on first use)\n"
    "  -v, --verbose        say what qpy does (on stderr)\n"
    "  -h, --help           show this help\n"
    "  --version            show the version\n"
    "\n"
    "Exit status: 0 done, 1 the script raised an exception, 2 usage error or unreadable\n"
    "script, 3 the module restarted (misc.Power.powerRestart), 4 the module powered down,\n"
    "5 unusable device.\n";

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "qpy: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'qpy --help' for more information.\n");
    return QP_EXIT_USAGE;
}

static int default_device_dir(char *out, size_t outlen) {
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg) {
        n = snprintf(out, outlen, "%s/openqpy/default", xdg);
    } else if (home && *home) {
        n = snprintf(out, outlen, "%s/.local/share/openqpy/default", home);
    } else {
        return QP_ERR_NOENT;
    }
    return n < (int)outlen ? 0 : QP_ERR_NAMETOOLONG;
}

static uint64_t fresh_random(void) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        r = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL);
    }
    return r;
}

// The factory's flash: the platform's firmware with this device's model and version,
// formatted /usr and /bak.
static int install_factory_flash(const char *dir, const qp_device_profile_t *profile,
                                 char *msg, size_t msglen) {
    unsigned char *image = malloc(qp_default_firmware_size);
    if (!image) {
        snprintf(msg, msglen, "out of memory");
        return QP_ERR_NOMEM;
    }
    memcpy(image, qp_default_firmware, qp_default_firmware_size);
    int err = qp_image_set_identity(image, qp_default_firmware_size, profile->model,
                                    profile->fw_version, NULL);
    if (err < 0) {
        snprintf(msg, msglen, "the built-in firmware image is damaged: %s", qp_strerror(err));
    } else {
        qp_storage_format_t fmt = qp_storage_format_of(profile);
        err = qp_storage_create(dir, image, qp_default_firmware_size, &fmt, msg, msglen);
    }
    free(image);
    return err;
}

static int create_device(const char *dir, const qp_device_options_t *opts, int verbose) {
    qp_device_profile_t profile;
    char msg[512];
    int err = qp_device_profile_make(&profile, opts, fresh_random(), msg, sizeof msg);
    if (err == 0) {
        err = qp_device_create(dir, &profile, msg, sizeof msg);
    }
    if (err == 0) {
        err = install_factory_flash(dir, &profile, msg, sizeof msg);
    }
    if (err < 0) {
        fprintf(stderr, "qpy: %s\n", msg);
        return err == QP_ERR_INVAL ? QP_EXIT_USAGE : QP_EXIT_DEVICE;
    }
    if (verbose) {
        fprintf(stderr, "qpy: created device %s (%s, IMEI %s)\n", dir, profile.model,
                profile.imei);
    }
    return 0;
}

// --fota-key: the text of the PEM file (qp_device_profile_make checks it is a key).
static int read_key_file(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "qpy: %s: %s\n", path, strerror(errno));
        return QP_EXIT_USAGE;
    }
    size_t n = fread(buf, 1, len - 1, f);
    int longer = fgetc(f) != EOF;
    fclose(f);
    buf[n] = '\0';
    return longer ? usage_error("%s: too large for a public key", path) : 0;
}

static int cmd_device_new(int argc, char **argv, int verbose) {
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"imei", required_argument, NULL, 'i'},
        {"sn", required_argument, NULL, 's'},
        {"fw-version", required_argument, NULL, 'f'},
        {"lfs-version", required_argument, NULL, 'l'},
        {"fota-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    qp_device_options_t opts = {0};
    char key[QP_DEVICE_KEY_MAX];
    int status;
    optind = 0; // 0 makes glibc start afresh (and permute) for the sub-command
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'm': opts.model = optarg; break;
        case 'i': opts.imei = optarg; break;
        case 's': opts.sn = optarg; break;
        case 'f': opts.fw_version = optarg; break;
        case 'l': opts.lfs_version = optarg; break;
        case 'k':
            if ((status = read_key_file(optarg, key, sizeof key)) != 0) {
                return status;
            }
            opts.fota_public_key = key;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("unknown option '%s' for 'device new'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        return usage_error("%s", "'device new' needs exactly one directory");
    }
    return create_device(argv[optind], &opts, verbose);
}

static int load_device(const char *dir, qp_device_profile_t *profile) {
    char msg[512];
    int err = qp_device_load(dir, profile, msg, sizeof msg);
    if (err < 0) {
        fprintf(stderr, "qpy: %s\n", msg);
        if (err == QP_ERR_NOENT) {
            fprintf(stderr, "qpy: create a device with: qpy device new %s\n", dir);
        }
        return QP_EXIT_DEVICE;
    }
    return 0;
}

static int cmd_device_show(const char *dir) {
    qp_device_profile_t p;
    int status = load_device(dir, &p);
    if (status) {
        return status;
    }
    printf("device:       %s\nmodel:        %s\nmanufacturer: %s\nIMEI:         %s\n"
           "SN:           %s\nfirmware:     %s\nheap:         %u bytes\n"
           "littlefs:     customer_fs v%u, customer_backup_fs v%u\n",
           dir, p.model, p.manufacturer, p.imei, p.sn, p.fw_version, p.heap_size,
           p.usr_lfs_version, p.bak_lfs_version);
    if (p.fota_public_key[0]) {
        printf("FOTA key:     ECDSA P-256 (packages must be signed with it)\n");
    }
    return 0;
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"power-on-reason", required_argument, NULL, 'p'}, // set by a restart
        {"port", required_argument, NULL, 'P'},
        {"console-fd", required_argument, NULL, 'c'}, // set by a restart in `serve`
        {NULL, 0, NULL, 0},
    };
    const char *device = NULL;
    const char *port = NULL, *console_fds = NULL;
    int verbose = 0, power_on_reason = 0;
    opterr = 0; // we say what is wrong ourselves, in the same words for every option
    int c;
    while ((c = getopt_long(argc, argv, "+vh", options, NULL)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 'v': verbose = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("qpy (OpenQPY) %s\n", QP_VERSION); return 0;
        case 'p': power_on_reason = atoi(optarg); break;
        case 'P': port = optarg; break;
        case 'c': console_fds = optarg; break;
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    const char *command = optind < argc ? argv[optind] : "repl";
    int nargs = argc - optind;
    char **args = argv + optind;

    if (strcmp(command, "device") == 0) {
        if (nargs >= 2 && strcmp(args[1], "new") == 0) {
            return cmd_device_new(nargs - 1, args + 1, verbose);
        }
        if (nargs >= 2 && strcmp(args[1], "show") == 0 && nargs <= 3) {
            char dir[PATH_MAX];
            if (nargs == 3) {
                return cmd_device_show(args[2]);
            }
            if (device) {
                return cmd_device_show(device);
            }
            if (default_device_dir(dir, sizeof dir) < 0) {
                return usage_error("%s", "no HOME or XDG_DATA_HOME: name a device");
            }
            return cmd_device_show(dir);
        }
        return usage_error("%s", "'device' needs 'new DIR' or 'show [DIR]'");
    }

    if (port) {
        // A module on a serial port (qpy_port.c); `--port auto` looks for a served device.
        char dir[PATH_MAX];
        if (!device && default_device_dir(dir, sizeof dir) == 0) {
            device = dir;
        }
        return qpy_port_main(port, device, nargs, args, verbose);
    }
    qp_runtime_config_t cfg = {0};
    cfg.power_on_reason = power_on_reason;
    int fs_command = strcmp(command, "fs") == 0;
    int flash_command = strcmp(command, "flash") == 0;
    if (flash_command) {
        int status = qpy_flash_main(NULL, nargs, args); // usage and --help need no device
        if (status != QPY_FLASH_NEEDS_DEVICE) {
            return status;
        }
    } else if (fs_command) {
        if (nargs >= 2 && (strcmp(args[1], "--help") == 0 || strcmp(args[1], "-h") == 0)) {
            return qpy_fs_main(NULL, nargs, args);
        }
    } else if (strcmp(command, "repl") == 0 && nargs <= 1) {
        cfg.mode = QP_RUNTIME_REPL;
    } else if (strcmp(command, "run") == 0) {
        if (nargs != 2) {
            return usage_error("%s", "'run' needs exactly one script");
        }
        cfg.mode = QP_RUNTIME_RUN;
        cfg.script = args[1];
        FILE *f = fopen(cfg.script, "rb");
        if (!f) {
            int e = errno;
            fprintf(stderr, "qpy: can't open file '%s': [Errno %d] %s\n", cfg.script, e,
                    strerror(e));
            return QP_EXIT_USAGE;
        }
        fclose(f);
    } else if (strcmp(command, "serve") == 0 && nargs == 1) {
        cfg.mode = QP_RUNTIME_SERVE;
    } else if (strcmp(command, "boot") == 0 && nargs <= 2) {
        // What a restart during `run` executes: boot, then report the restart.
        cfg.mode = QP_RUNTIME_BOOT;
        cfg.restarted_from_run = nargs == 2 && strcmp(args[1], "--after-restart") == 0;
    } else {
        return usage_error("unknown command '%s'", command);
    }

    char default_dir[PATH_MAX];
    if (!device) {
        if (default_device_dir(default_dir, sizeof default_dir) < 0) {
            return usage_error("%s", "no HOME or XDG_DATA_HOME: use --device DIR");
        }
        device = default_dir;
        // The default device is made on first use, so `qpy` works out of the box.
        char profile_path[PATH_MAX + 32];
        snprintf(profile_path, sizeof profile_path, "%s/%s", device, QP_DEVICE_PROFILE_NAME);
        if (access(profile_path, F_OK) != 0 && access(device, F_OK) != 0) {
            qp_device_options_t none = {0};
            int status = create_device(device, &none, verbose);
            if (status) {
                return status;
            }
        }
    }
    qp_device_profile_t profile;
    int status = load_device(device, &profile);
    if (status) {
        return status;
    }
    if (flash_command) {
        return qpy_flash_main(device, nargs, args);
    }
    if (fs_command) {
        return qpy_fs_main(device, nargs, args);
    }
    char self_exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n < 0) {
        fprintf(stderr, "qpy: cannot find own executable: %s\n", strerror(errno));
        return QP_EXIT_INTERNAL;
    }
    self_exe[n] = '\0';
    cfg.device_dir = device;
    cfg.profile = &profile;
    cfg.verbose = verbose;
    cfg.self_exe = self_exe;
    if (verbose) {
        fprintf(stderr, "qpy: booting %s (%s, %s)\n", device, profile.model,
                profile.fw_version);
    }
    if (cfg.mode == QP_RUNTIME_SERVE) {
        return qpy_serve_main(&cfg, console_fds);
    }
    return qp_runtime_main(&cfg);
}
