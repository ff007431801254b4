"""Atomic file writes: a reader (or a run killed mid-write) sees the old file or the new one,
never half of one. Every file genlab writes (checkpoints, PNGs, downloads, cached
classifiers, JSON records) goes through `atomic_path`.

Temporary files have one name, `.NAME.XXXXXXXX.part` beside NAME (TEMP_PREFIX, TEMP_SUFFIX);
`remove_temp_files(folder)` deletes the ones a killed write left behind.

An operating-system error while writing (a full disk, a read-only file system, a folder that
does not accept files) becomes a `WriteError`: one line naming the file the user asked for,
never the temporary file, and the OS reason (`os.strerror`). `check_writable(path)` finds the
same faults before a command does its work.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError

# mkstemp creates 0600 files; a finished file gets the mode a plain open() would give it.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK

# errors of writing a file (not of, say, the network a block reads from)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT,
                 errno.EFBIG, errno.EIO, errno.ENOENT, errno.EISDIR, errno.ENOTDIR}

TEMP_PREFIX = "."
TEMP_SUFFIX = ".part"


class WriteError(GenlabError):
    """The operating system refused to write a file genlab was asked to write."""


def os_reason(e: OSError) -> str:
    """The OS's own words for `e` ("No space left on device"), without Python's decoration."""
    if e.errno is not None:
        return os.strerror(e.errno)
    return str(e) or type(e).__name__


def write_error(path: str | Path, e: OSError) -> WriteError:
    """`cannot write 'PATH': REASON` naming the user's path."""
    path = Path(path)
    if e.errno == errno.ENOENT and path.parent.is_dir():  # e.g. /proc: a folder, but no files
        return WriteError(f"cannot write {str(path)!r}: {str(path.parent)!r} does not accept "
                          "new files")
    return WriteError(f"cannot write {str(path)!r}: {os_reason(e)}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends cleanly the temporary file
    is flushed to disk and renamed over `path`, otherwise it is removed and `path` is left
    as it was. An OSError of writing (in the block too: it writes the temporary file) is a
    WriteError naming `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX,
                                    dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise write_error(path, e) from None
    tmp = Path(name)
    try:
        try:
            yield tmp
        except OSError as e:  # the block's own errors (a failed download) pass through as is
            if e.errno in _WRITE_ERRNOS and e.filename in (None, str(tmp), name):
                raise write_error(path, e) from None
            raise
        try:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, path)
        except OSError as e:
            raise write_error(path, e) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)  # after a successful rename there is nothing left
        except OSError:
            pass
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """`obj` as indented, key-sorted JSON (the run folder's and checkpoints' records)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def is_temp_file(path: Path) -> bool:
    return path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX)


def remove_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files that interrupted writes left in `folder` (not below it);
    returns what was removed. Call it only where no other writer is active."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        if is_temp_file(p) and p.is_file():
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise write_error(p, e) from None
    return removed


def check_writable(path: str | Path, folder: bool = False) -> None:
    """Raise a WriteError now, before any work, if `path` could not be written later: a file
    (`folder=False`) whose folder cannot take files, or a folder (`folder=True`) that cannot
    be created or take files. Probes with a real temporary file (os.access does not know
    every file system's rules) in the nearest folder that exists; creates nothing that stays."""
    path = Path(path)
    if not folder and path.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: it is a folder")
    if folder and path.exists() and not path.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: it exists and is not a folder")
    probe_in = path if folder else path.parent
    while not probe_in.exists():
        if probe_in.parent == probe_in:
            break
        probe_in = probe_in.parent
    if probe_in.exists() and not probe_in.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: {str(probe_in)!r} is not a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name or 'probe'}.",
                                    suffix=TEMP_SUFFIX, dir=probe_in)
    except OSError as e:
        if e.errno == errno.ENOENT:  # e.g. /proc: a folder that does not take new files
            raise WriteError(f"cannot write {str(path)!r}: {str(probe_in)!r} does not accept "
                             "new files") from None
        raise write_error(path, e) from None
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
