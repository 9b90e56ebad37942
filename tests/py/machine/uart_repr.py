# machine.UART: port constants, the firmware's repr (including its parity quirk: even
# shows as 1, odd as 0), one object per port, init() and close().
from machine import UART

print(UART.UART0, UART.UART1, UART.UART2, UART.UART3)
u = UART(UART.UART2, 115200, 8, 0, 1, 0)
print(u)
print(UART(2, 9600, 7, 1, 2, 1))
print(UART(2, 1000000, 5, 2, 1, 0))
print(UART(2, baudrate=4468750, bits=6, parity=0, stop=2, flow=1))
print(UART(2) is u)
print(u)
print(u.init(57600, 8, 1, 1, 0))
print(u)
print(u.init(baudrate=300))
print(u)
print(u.close())
print(u)
print(UART(1, 230400))
print(type(u).__name__)
