"""Write files so that a crash never leaves a half-written file that a later run trusts."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it replaces ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        if temp.is_file():  # mkstemp makes owner-only files; give the usual permissions
            os.chmod(temp, 0o666 & ~_current_umask())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_json_atomically(target: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``target`` atomically."""
    with atomic_path(target) as temp:
        temp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
