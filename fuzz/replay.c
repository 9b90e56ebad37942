// replay.c - runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer: the
// normal (gcc) build links each target with this driver so the seed corpus and the
// committed regression inputs (fuzz/regress/<target>/*.hex) run in `make test`, and so
// the targets keep compiling where clang is absent.
//
// Usage: fuzz_<target>_replay PATH...   (each PATH a file or a directory of files)
// A file named *.hex holds the input as hexadecimal text; whitespace is ignored and '#'
// starts a comment running to the end of the line, which is where a regression input
// says what it found. Any other file is the raw input. Exit status 0 when every input ran
// (a finding aborts, as under libFuzzer), 2 on a usage or I/O error.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static unsigned ran;

static int hexval(int c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Decodes hex text in place; returns the byte count, or -1 on a stray character.
static long unhex(uint8_t *buf, size_t len) {
    size_t out = 0;
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        int c = buf[i];
        if (c == '#') {
            while (i < len && buf[i] != '\n') {
                i++;
            }
            continue;
        }
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            continue;
        }
        int v = hexval(c);
        if (v < 0) {
            return -1;
        }
        if (hi < 0) {
            hi = v;
        } else {
            buf[out++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)out : -1;
}

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return -1;
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) {
            break;
        }
        cap *= 2;
        buf = realloc(buf, cap);
    }
    int bad = ferror(f);
    fclose(f);
    size_t n = strlen(path);
    if (!bad && n > 4 && strcmp(path + n - 4, ".hex") == 0) {
        long got = unhex(buf, len);
        if (got < 0) {
            fprintf(stderr, "%s: not hexadecimal text\n", path);
            bad = 1;
        } else {
            len = (size_t)got;
        }
    }
    if (!bad) {
        // A copy of exactly the input's size, so ASan catches a read past its end.
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact) {
            bad = 1;
        } else {
            memcpy(exact, buf, len);
            LLVMFuzzerTestOneInput(exact, len);
            free(exact);
            ran++;
        }
    }
    free(buf);
    return bad ? -1 : 0;
}

static int run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return run_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        perror(path);
        return -1;
    }
    int err = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && err == 0) {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
            err = run_path(sub);
        }
        free(names[i]);
    }
    free(names);
    return err;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (run_path(argv[i]) < 0) {
            return 2;
        }
    }
    printf("%s: %u inputs replayed\n", argv[0], ran);
    return 0;
}
