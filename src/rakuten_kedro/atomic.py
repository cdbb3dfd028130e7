"""Write files so that a crash never leaves a half-written file that a later run trusts."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Names of the temporary files and folders below, so that leftovers of a killed write can be
# recognised (``run_lock.remove_leftovers``): ``.<name>.<random>.tmp`` files,
# ``.<name>.tmp-<random>`` folders, and ``.<name>.old-<random>`` folders moved aside.
_TEMPORARY_FILE = re.compile(r"^\..+\.tmp$")
_TEMPORARY_FOLDER = re.compile(r"^\..+\.tmp-[^/]+$")
_MOVED_ASIDE = re.compile(r"^\.(?P<name>.+)\.old-\..+\.tmp-[^/]+$")


def cannot_write(target: str | Path, error: OSError) -> OSError:
    """``error`` (a full disk, a read-only folder, …) restated to name the file being written.

    An ``OSError`` from ``write()`` names no file ("No space left on device"); this one says
    which output could not be written. The errno, hence the subclass (``PermissionError``, …),
    is kept.
    """
    detail = error.strerror or str(error)
    if error.filename is not None and str(error.filename) != str(target):
        detail = f"{detail} ({error.filename})"
    message = f"cannot write {target}: {detail}"
    return OSError(error.errno, message) if error.errno is not None else OSError(message)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it replaces ``target`` only on success.

    Raises:
        OSError: Naming ``target`` when the folder cannot be made or written, the disk is
            full, … (the temporary file is removed and ``target`` is left as it was).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise cannot_write(target, error) from error
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        if temp.is_file():  # mkstemp makes owner-only files; give the usual permissions
            os.chmod(temp, 0o666 & ~_current_umask())
        os.replace(temp, target)
    except OSError as error:
        raise cannot_write(target, error) from error
    finally:
        temp.unlink(missing_ok=True)


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; it replaces ``target`` only on success.

    The previous folder is moved aside, not deleted, until the new one is in place, and put
    back if anything fails, so a crash leaves either the old folder or the new one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    old = target.parent / f".{target.name}.old-{temp.name}"
    try:
        temp.chmod(0o777 & ~_current_umask())  # mkdtemp makes it private (0700)
        yield temp
        if target.exists():
            os.replace(target, old)
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        if old.exists() and not target.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def is_temporary_file(path: Path) -> bool:
    """Whether ``path`` is the temporary file of an :func:`atomic_path` write."""
    return path.is_file() and bool(_TEMPORARY_FILE.match(path.name))


def is_temporary_folder(path: Path) -> bool:
    """Whether ``path`` is the temporary folder of an :func:`atomic_folder` write."""
    return path.is_dir() and bool(_TEMPORARY_FOLDER.match(path.name))


def restore_moved_aside(path: Path) -> bool:
    """Puts back a folder :func:`atomic_folder` moved aside when it was killed before the new
    one took its place, or deletes it when the new one did; True when it was put back."""
    match = _MOVED_ASIDE.match(path.name)
    if not match or not path.is_dir():
        return False
    target = path.parent / match["name"]
    if target.exists():
        shutil.rmtree(path)
        return False
    os.replace(path, target)
    return True


def write_json_atomically(target: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``target`` atomically."""
    with atomic_path(target) as temp:
        temp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
