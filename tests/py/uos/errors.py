# uos errors are OSError with MicroPython's errno (args[0]) and text.
import uos
import uerrno


def attempt(what, f, *args):
    try:
        f(*args)
        print(what, "ok")
    except OSError as e:
        print(what, e.args[0], uerrno.errorcode[e.args[0]], e)


attempt("listdir missing", uos.listdir, "/usr/none")
attempt("stat missing", uos.stat, "/usr/none.txt")
attempt("stat outside mounts", uos.stat, "/flash")
attempt("mkdir twice", uos.mkdir, "/usr/d")
attempt("mkdir twice", uos.mkdir, "/usr/d")
attempt("mkdir mount point", uos.mkdir, "/usr")
attempt("mkdir in root", uos.mkdir, "/newdir")
attempt("mkdir no parent", uos.mkdir, "/usr/a/b")
attempt("chdir missing", uos.chdir, "/usr/none")
f = open("/usr/d/file.txt", "w")
f.write("x")
f.close()
attempt("chdir to file", uos.chdir, "/usr/d/file.txt")
attempt("rmdir not empty", uos.rmdir, "/usr/d")
attempt("rmdir file", uos.rmdir, "/usr/d/file.txt")
attempt("listdir file", uos.listdir, "/usr/d/file.txt")
attempt("remove missing", uos.remove, "/usr/none.txt")
attempt("rename to bak", uos.rename, "/usr/d/file.txt", "/bak/file.txt")
attempt("mkdir on bak", uos.mkdir, "/bak/x")
attempt("rename within usr", uos.rename, "/usr/d/file.txt", "/usr/moved.txt")
attempt("remove file", uos.remove, "/usr/moved.txt")
attempt("remove empty dir", uos.remove, "/usr/d")
print(uos.listdir("/usr"))
