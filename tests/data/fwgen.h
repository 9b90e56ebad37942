// fwgen.h - deterministic pseudo-firmware (ARM Thumb-like code) for tests; see fwgen.c.
#ifndef QP_TEST_FWGEN_H
#define QP_TEST_FWGEN_H

#include <stddef.h>
#include <stdint.h>

// Fills out[0..size) with the pseudo-firmware of `seed`, release `variant` (0: the base;
// v > 0: v rounds of release edits). The same arguments give the same bytes on every host.
// Returns size, or 0 when out of memory.
size_t fwgen_make(uint8_t *out, size_t size, uint64_t seed, uint32_t variant);

#endif
