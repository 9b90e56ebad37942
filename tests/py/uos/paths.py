# uos over the module's namespace: "/" holds the mounts, relative paths follow the
# current directory, "." and ".." are resolved.
import uos

print(uos.getcwd())
print(uos.listdir())
print(uos.listdir("/"))
print("system_config.json" in uos.listdir("usr/"))
uos.chdir("/usr")
print(uos.getcwd())
uos.mkdir("QuecPython")
uos.chdir("QuecPython")
print(uos.getcwd())
uos.chdir("..")
print(uos.getcwd())
uos.chdir("./QuecPython/../..")
print(uos.getcwd())
print(uos.stat("/usr/QuecPython")[0] == 0x4000, uos.stat("/")[0] == 0x4000)
print(uos.stat("usr/system_config.json")[0] == 0x8000)
for entry in uos.ilistdir("/"):
    print(entry)
uos.rmdir("/usr/QuecPython")
print("QuecPython" in uos.listdir("/usr"))
st = uos.statvfs("/usr")
print(st[0], st[1], st[2], st[2] >= st[3] > 0, st[9], len(st))
print(uos.statvfs("/bak")[2] * 4096)
