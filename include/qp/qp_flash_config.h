// qp_flash_config.h - compile-time options of the NOR flash library (src/flash).
//
// Every option is `#ifndef X / #define X (default)` and is tested with `#if`, so -Wundef
// catches a misspelt option (house style B6). A firmware build can inject its own values
// with -DQP_CONFIG_FILE="my_config.h" before this header sets the defaults.
#ifndef QP_FLASH_CONFIG_H
#define QP_FLASH_CONFIG_H

#ifdef QP_CONFIG_FILE
#include QP_CONFIG_FILE
#endif

// 1: the library never calls malloc/free. Handles then need caller buffers or an alloc
// callback in their config (qp_flash_config_t). Cost of 0: a dependency on libc malloc.
#ifndef QP_NO_MALLOC
#define QP_NO_MALLOC 0
#endif

// Bytes of stack the model uses as a scratch buffer while programming, erasing and
// checking (one buffer per call, no recursion). Larger means fewer backend calls per
// operation; smaller suits a small MCU stack. Must be at least 16.
#ifndef QP_FLASH_CHUNK_SIZE
#define QP_FLASH_CHUNK_SIZE 256
#endif

#endif
