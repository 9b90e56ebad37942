// qpy_port.h - `qpy --port PORT COMMAND ...` (qpy_port.c): a running module over a serial
// port (a `qpy serve` pty or a real module's /dev/ttyUSB*).
#ifndef QPY_PORT_H
#define QPY_PORT_H

// argv[0] is the command (fs, run, exec, repl, reset). `device` is where `--port auto`
// looks for a served module (may be NULL). Returns the exit status.
int qpy_port_main(const char *port, const char *device, int argc, char **argv, int verbose);

#endif
