# Every getDev* function returns the device's identity as a str.
import modem

for name in ("getDevImei", "getDevModel", "getDevSN", "getDevFwVersion", "getDevProductId"):
    value = getattr(modem, name)()
    print(name, type(value).__name__, value)
print(sorted(n for n in dir(modem) if not n.startswith("__")))
