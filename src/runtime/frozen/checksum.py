# checksum.py - QuecPython's checksum module: /usr/checksum.json lists the files the backup
# partition protects, each with its hash, and update(path) re-hashes one after the
# application changed it on purpose (else the boot-time restore would put the factory copy
# back). backup_restore.py reads the same list at boot.
#
# Entries are {"name": "/usr/a.py", "sha256": "<64 hex>"} (the seed's firmware) or
# {"name": ..., "crc32": "0x<hex>"} (newer firmware, CRC-32 over 4096-byte chunks); each
# entry keeps its own kind. Behaviour as the firmware's (platform-facts): a leading "/" is
# added, names match case-insensitively, only existing entries are updated, the whole list
# is returned; a missing /usr/checksum.json is first copied from /bak/checksum.json.
#
# Unlike the firmware, which rewrites the file in place, the new list is written to a
# temporary file and renamed over the old one: the file system's rename is atomic, so a
# power cut leaves the old list or the new one, never a torn file that would make the
# next boot restore (or fail to restore) everything.
import _qp_uio
import _qp_uos

CHECKSUM_FILE = "/usr/checksum.json"
BACKUP_CHECKSUM_FILE = "/bak/checksum.json"
_TEMP_FILE = "/usr/.checksum.json.tmp"
_CHUNK = 4096


class _checkError(Exception):
    def __init__(self, value):
        self.value = value

    def __str__(self):
        return repr(self.value)


def _exists(path):
    try:
        _qp_uos.stat(path)
        return True
    except OSError:
        return False


def _read(path, limit=None):
    with _qp_uio.open(path, "r") as f:
        return f.read() if limit is None else f.read(limit)


def _write_atomic(path, text):
    # Old or new, never torn: the temporary file is complete (closed, so synced) before
    # the rename replaces `path` in one metadata commit.
    with _qp_uio.open(_TEMP_FILE, "w") as f:
        f.write(text)
    _qp_uos.rename(_TEMP_FILE, path)


def _mkdirs(path):
    # Creates every missing folder on the way to `path` (a folder).
    parts = [p for p in path.split("/") if p]
    at = ""
    for p in parts:
        at += "/" + p
        if not _exists(at):
            _qp_uos.mkdir(at)


def file_hash(path, kind="sha256"):
    """The hash of a file as checksum.json stores it ("<hex>" for sha256, "0x<hex>" for
    crc32), or None when it cannot be read."""
    try:
        f = _qp_uio.open(path, "rb")
    except OSError:
        return None
    try:
        if kind == "crc32":
            import zlib
            crc = 0
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                crc = zlib.crc32(chunk, crc)
            return "0x%08x" % crc
        import hashlib
        h = hashlib.sha256()
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None
    finally:
        f.close()


def kind_of(item):
    """"sha256" or "crc32": the hash an entry carries."""
    return "crc32" if "crc32" in item and "sha256" not in item else "sha256"


def same_hash(item, value):
    """Whether `value` (from file_hash) matches the entry's stored hash."""
    if value is None:
        return False
    kind = kind_of(item)
    stored = item.get(kind)
    if not isinstance(stored, str):
        return False
    if kind == "crc32":
        try:
            return int(stored, 16) == int(value, 16)
        except ValueError:
            return False
    return stored.lower() == value


def check():
    """The text of /usr/checksum.json (copied from /bak first when /usr has none)."""
    if not _exists(CHECKSUM_FILE):
        if not _exists(BACKUP_CHECKSUM_FILE):
            raise _checkError("%s not exist" % CHECKSUM_FILE)
        _mkdirs("/usr")
        _write_atomic(CHECKSUM_FILE, _read(BACKUP_CHECKSUM_FILE))
    # The firmware reads at most 16384 bytes of the list, so a list of more than about 150
    # files fails to parse there; here the whole file is read (mklfs warns about lists
    # the real module would cut short).
    text = _read(CHECKSUM_FILE)
    if not text:
        raise _checkError("%s is empty" % CHECKSUM_FILE)
    return text


def _load():
    import json
    entries = json.loads(check())
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries):
        raise _checkError("%s is not a list of files" % CHECKSUM_FILE)
    return entries


def _flush(entries):
    import json
    _write_atomic(CHECKSUM_FILE, json.dumps(entries))
    return entries


def _absolute(name):
    return name if name.startswith("/") else "/" + name


def retrieve(file_name):
    """The stored hash of `file_name`, or None when it is not listed."""
    file_name = _absolute(file_name)
    for item in _load():
        if item["name"].lower() == file_name.lower():
            return item.get(kind_of(item))
    return None


def bulk_update(file_name_list=()):
    """Re-hashes the listed files; returns the whole list, or None when nothing changed
    (no listed file named, or an error)."""
    try:
        entries = _load()
        changed = False
        for name in file_name_list:
            name = _absolute(name)
            for item in entries:
                if item["name"].lower() == name.lower():
                    # The firmware hashes the name as given, which on a case-sensitive
                    # littlefs fails for "/USR/A.PY"; the entry's own name finds it.
                    value = (file_hash(name, kind_of(item))
                             or file_hash(item["name"], kind_of(item)))
                    if value:
                        item[kind_of(item)] = value
                        changed = True
                    break
        return _flush(entries) if changed else None
    except Exception:
        return None


def update(file_name):
    """Re-hashes one listed file and rewrites /usr/checksum.json; returns the list of
    entries, or None when the file is not listed, cannot be read, or on an error."""
    return bulk_update([file_name])
