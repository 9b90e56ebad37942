// qp_default_firmware.c - the platform's default firmware image, linked into qpy.
//
// firmware/CMakeLists.txt builds the image (mkfw: synthetic CP and DSP code from fwgen,
// the platform's Python from src/runtime/frozen as the app section) and this file pulls
// its bytes in with the assembler's .incbin, which is exact and fast for a binary of a
// few hundred KB (a C array initialiser of the same size takes the compiler seconds).
// `qpy device new` installs it, with the device's model and version (qp_firmware.h).
#include <stddef.h>

#ifndef QP_DEFAULT_FIRMWARE_PATH
#error "QP_DEFAULT_FIRMWARE_PATH must name the built image"
#endif

__asm__(".section .rodata\n"
        ".global qp_default_firmware\n"
        ".type qp_default_firmware, @object\n"
        ".balign 16\n"
        "qp_default_firmware:\n"
        ".incbin \"" QP_DEFAULT_FIRMWARE_PATH "\"\n"
        "qp_default_firmware_end:\n"
        ".global qp_default_firmware_size\n"
        ".type qp_default_firmware_size, @object\n"
        ".balign 8\n"
        "qp_default_firmware_size:\n"
        ".quad qp_default_firmware_end - qp_default_firmware\n"
        ".previous\n");
