// qp_testdir.h - a scratch directory for unit tests that need real files: cmocka setup
// and teardown that make /tmp/qp-test-XXXXXX and remove it with everything in it.
// Included by the test files that use it (each gets its own copy of `tmpdir`).
#ifndef QP_TESTDIR_H
#define QP_TESTDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

static int make_tmpdir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/qp-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

#endif
