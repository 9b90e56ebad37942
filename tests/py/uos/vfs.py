# uos.VfsLfs1/VfsLfs2, mount and umount, as QuecPython has them: a file-system partition
# by name (readsize, progsize, lookahead are accepted and unused), mkfs with the same
# arguments, errors with MicroPython's errno.
import uos
import uerrno


def attempt(what, f, *args):
    try:
        f(*args)
        print(what, "ok")
    except OSError as e:
        print(what, e.args[0], uerrno.errorcode[e.args[0]])


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


print(uos.listdir("/"))
v1 = uos.VfsLfs1(32, 32, 32, "customer_fs")
print(v1)
# A second mount of the partition /usr holds: the same file system.
uos.mount(v1, "/usr2")
write("/usr/a.txt", "from /usr")
print(sorted(uos.listdir("/")), uos.listdir("/usr2"))
print(open("/usr2/a.txt").read())
uos.umount("/usr2")
print(sorted(uos.listdir("/")))

# Errors.
attempt("VfsLfs2 on a v1 partition", uos.VfsLfs2, 32, 32, 32, "customer_fs")
attempt("no such partition", uos.VfsLfs1, 32, 32, 32, "ext_fs")
attempt("mount on a busy path", uos.mount, v1, "/usr")
attempt("mount on the root", uos.mount, v1, "/")
attempt("mount on a relative path", uos.mount, v1, "usr3")
attempt("mount below a mount", uos.mount, v1, "/usr/sub")
attempt("umount unknown path", uos.umount, "/nothing")
attempt("umount relative path", uos.umount, "usr")
attempt("mkfs while mounted", uos.VfsLfs2.mkfs, 32, 32, 32, "customer_fs")
f = open("/usr/a.txt")
attempt("umount with a file open", uos.umount, "/usr")
f.close()
try:
    uos.mount("customer_fs", "/x")
except TypeError as e:
    print("TypeError", e)

# /usr as littlefs v2: umount, mkfs, mount; then back to v1.
uos.umount("/usr")
print(sorted(uos.listdir("/")))
uos.VfsLfs2.mkfs(32, 32, 32, "customer_fs")
attempt("the old VfsLfs1 object on a v2 partition", uos.mount, v1, "/usr")
v2 = uos.VfsLfs2(readsize=32, progsize=32, lookahead=32, pname="customer_fs")
print(v2)
uos.mount(v2, "/usr")
print(uos.listdir("/usr"))
uos.mkdir("/usr/d")
write("/usr/d/b.txt", "on v2")
print(uos.listdir("/usr"), uos.listdir("/usr/d"), open("/usr/d/b.txt").read())
print(uos.statvfs("/usr")[0], uos.statvfs("/usr")[2])
uos.umount("/usr")
uos.VfsLfs1.mkfs(32, 32, 32, "customer_fs")
uos.mount(uos.VfsLfs1(32, 32, 32, "customer_fs"), "/usr")
print(uos.listdir("/usr"))

# A read-only mount, and the backup partition mounted writable elsewhere (the firmware's
# bak_update does that at /_bak; /bak itself stays read-only to scripts).
uos.mount(uos.VfsLfs1(32, 32, 32, "customer_fs"), "/ro", readonly=True)
attempt("write to a read-only mount", write, "/ro/c.txt", "x")
uos.umount("/ro")
attempt("write to /bak", write, "/bak/c.txt", "x")
uos.mount(uos.VfsLfs1(32, 32, 32, "customer_backup_fs"), "/_bak")
write("/_bak/c.txt", "backup")
print(uos.listdir("/bak"))
uos.umount("/_bak")
