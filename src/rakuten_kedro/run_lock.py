"""One run at a time per project, and nothing left behind by a killed one.

Two ``kedro run`` in one project would write the same caches, checkpoints and outputs. The
lock is an advisory ``flock`` on ``data/.kedro-run.lock``: the kernel releases it when its
process dies, however it dies, so a killed run never leaves a lock to break by hand. The file
itself records who holds it (PID, host, start time, command) for the message a second run
prints; a record found without a holder is a stale lock from a killed run, taken over with a
log line.

Once the lock is held, the temporary files of writes that a killed run left half done are
removed (``atomic.py`` names them; they are never read, only wasted disk: a checkpoint of an
image stage is 80 MB).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rakuten_kedro.atomic import is_temporary_file, is_temporary_folder, restore_moved_aside

logger = logging.getLogger(__name__)

LOCK_NAME = ".kedro-run.lock"
RAW_LAYER = "01_raw"


class ProjectBusy(RuntimeError):
    """Another run holds the project's lock."""


class RunLock:
    """The project's run lock: :meth:`acquire` before a run, :meth:`release` after it.

    Args:
        data_dir: The project's ``data`` folder (the lock file lives in it).
        wait: Wait for the other run to finish instead of stopping at once.
        poll_seconds: How often to retry while waiting.
    """

    def __init__(self, data_dir: Path, wait: bool = False, poll_seconds: float = 5.0) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.wait = wait
        self.poll_seconds = poll_seconds
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Takes the lock, or raises :class:`ProjectBusy` naming the run that holds it.

        With ``wait``, retries every ``poll_seconds`` until the other run ends.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        announced = False
        while not _try_lock(handle):
            holder = _describe(_read_record(handle))
            if not self.wait:
                handle.close()
                raise ProjectBusy(
                    f"Another kedro run is using this project ({holder}): two runs at once would "
                    "overwrite each other's caches, checkpoints and outputs. Wait for it to "
                    f"finish, or start this one with RAKUTEN_WAIT_FOR_LOCK=1 to queue behind it "
                    f"(lock file: {self.path})."
                )
            if not announced:
                logger.info("waiting for the other kedro run to finish (%s)", holder)
                announced = True
            time.sleep(self.poll_seconds)
        stale = _read_record(handle)
        if stale:
            logger.warning(
                "taking over the lock left by a run that did not finish (%s)", _describe(stale)
            )
        _write_record(handle)
        self._handle = handle

    def release(self) -> None:
        """Empties the record and frees the lock (safe to call twice)."""
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_record(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        return json.loads(handle.read() or "{}")
    except ValueError:
        return {}


def _write_record(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    json.dump(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        },
        handle,
    )
    handle.flush()


def _describe(record: dict[str, Any]) -> str:
    if not record:
        return "no details recorded"
    return (
        f"PID {record.get('pid')} on {record.get('host')}, started {record.get('started')}: "
        f"{record.get('command')}"
    )


def remove_leftovers(data_dir: Path) -> int:
    """Removes the temporary files and folders of writes a killed run left half done.

    Call it only while holding the lock: no other run can be writing them. A model folder
    that was moved aside but never replaced is put back. The raw layer (``01_raw``, the
    user's data) is never looked into.

    Returns:
        The number of bytes freed.
    """
    freed = 0
    outputs = [p for p in Path(data_dir).iterdir() if p.is_dir() and p.name != RAW_LAYER]
    for path in sorted(p for layer in outputs for p in layer.rglob(".*")):
        if restore_moved_aside(path):
            logger.warning("restored %s, moved aside by a run that was killed", path)
        elif is_temporary_file(path):
            freed += path.stat().st_size
            path.unlink()
        elif is_temporary_folder(path):
            freed += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
    if freed:
        logger.info("removed %.1f MB of temporary files left by an interrupted run", freed / 1e6)
    return freed
