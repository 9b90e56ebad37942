// qpy_flash.h - `qpy flash ...`: burn images or a production bundle into a device's
// partitions (qpy_flash.c).
#ifndef QPY_FLASH_H
#define QPY_FLASH_H

// Runs `qpy flash` with argv[0] = "flash"; returns the exit status (QP_EXIT_*). With
// device_dir NULL it only parses the command line (usage errors, --help) and returns
// QPY_FLASH_NEEDS_DEVICE when the command is good and needs the device.
#define QPY_FLASH_NEEDS_DEVICE (-1)
int qpy_flash_main(const char *device_dir, int argc, char **argv);

#endif
