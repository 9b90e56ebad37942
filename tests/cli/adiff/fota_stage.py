# Shared by the FOTA CLI tests (run with qpy): writes /usr/FotaFile.bin into the fota store
# and verifies it, without restarting, and prints verify()'s result. With /usr/pub.pem
# present it first sets that as the key (fota.set_public_key) and prints the result.
import fota, uos
if "pub.pem" in uos.listdir("/usr"):
    print("set_public_key", fota.set_public_key(open("/usr/pub.pem").read()))
f = fota()
size = uos.stat("/usr/FotaFile.bin")[6]
with open("/usr/FotaFile.bin", "rb") as src:
    while True:
        c = src.read(4096)
        if not c:
            break
        f.write(c, size)
print(f.verify())
