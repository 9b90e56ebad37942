# backup_restore.py - the boot-time restore from the backup partition, as the firmware's
# backup_restore.py (platform-facts): when /bak/backup_restore.json holds a non-zero
# "enable", every file /usr/checksum.json lists that is missing or whose hash differs is
# copied back from its factory copy under /bak (/bak/usr/a.py for /usr/a.py), then the
# list is re-hashed. Messages are the firmware's.
#
# It runs in platform code at boot, before the application's heap is counted. It reads
# /bak (reads are allowed; the VFS mounts /bak read-only for everyone) and writes only
# under /usr. Each file is copied to a temporary name and renamed into place, so a power
# cut never leaves a half-restored file that a later boot would take for the real one.
import _qp_uio
import _qp_uos
import checksum

BACKUP_ROOT = "/bak"
FLAG_FILE = "/bak/backup_restore.json"
_FLAG_MAX_SIZE = 64
_TEMP_SUFFIX = ".restore.tmp"


def _enabled():
    # No flag file: restore was never set up (a plain device), so nothing is said. A flag
    # file that cannot be read or parsed is an error the caller reports.
    if not checksum._exists(FLAG_FILE):
        return False
    import json
    text = checksum._read(FLAG_FILE, _FLAG_MAX_SIZE)
    if not text:
        raise checksum._checkError("%s is empty" % FLAG_FILE)
    flag = json.loads(text)
    return bool(flag["enable"])


def _copy(dst, src):
    tmp = dst + _TEMP_SUFFIX
    with _qp_uio.open(src, "rb") as fin, _qp_uio.open(tmp, "wb") as fout:
        while True:
            chunk = fin.read(4096)
            if not chunk:
                break
            fout.write(chunk)
    _qp_uos.rename(tmp, dst)


def restore():
    """Checks the protected files and restores the damaged ones; returns the names
    restored. Never raises: a failure is printed and the boot goes on."""
    restored = []
    try:
        # A power cut between writing checksum.update's new list and renaming it into
        # place leaves the temporary file; the list itself is intact (old or new).
        if checksum._exists(checksum._TEMP_FILE):
            _qp_uos.remove(checksum._TEMP_FILE)
        if not _enabled():
            return restored
        for item in checksum._load():
            name = checksum._absolute(item["name"])
            if checksum.same_hash(item, checksum.file_hash(name, checksum.kind_of(item))):
                continue
            print("- restoring", name)
            backup = BACKUP_ROOT + name
            if not checksum._exists(backup):
                print("~ backup file does not exist:", name)
                continue
            checksum._mkdirs(name.rpartition("/")[0])
            _copy(name, backup)
            restored.append(name)
        if restored:
            print("- updating checksum")
            checksum.bulk_update(restored)
            print("- done")
    except Exception as e:
        print("x backup restore procedure error:", e)
    return restored


main = restore
