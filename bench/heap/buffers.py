# Workload: binary buffers as a UART or file transfer holds them.
def workload():
    return [bytearray(4096), bytes(8192), b"\x01" * 2048]
