// qp_patch_config.h - compile-time options of the device-side patch library (src/patch).
//
// Every option is `#ifndef X / #define X (default)` and is tested with `#if`, so -Wundef
// catches a misspelt option (house style B6). A firmware build can inject its own values
// with -DQP_CONFIG_FILE="my_config.h" before this header sets the defaults. Runtime knobs
// (the RAM limit, the allocator) live in qp_patch_config_t, not here.
#ifndef QP_PATCH_CONFIG_H
#define QP_PATCH_CONFIG_H

#ifdef QP_CONFIG_FILE
#include QP_CONFIG_FILE
#endif

// 1: the library never calls malloc/free; the caller must give an allocator in the config
// (a static arena will do). Cost of 0: a dependency on libc malloc.
#ifndef QP_NO_MALLOC
#define QP_NO_MALLOC 0
#endif

// Bytes of package read per call of the package callback, per patch stream (three streams
// are open at once). Smaller means more callback calls; it is counted in the apply RAM.
#ifndef QP_PATCH_IN_BUF
#define QP_PATCH_IN_BUF 2048
#endif

// Bytes of old data read per call of the old-data callback. Counted in the apply RAM.
#ifndef QP_PATCH_OLD_BUF
#define QP_PATCH_OLD_BUF 4096
#endif

#endif
