"""One run at a time per project, stale locks taken over, and a killed run's temporary files
removed at the next start (never in the raw data)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rakuten_kedro.run_lock import ProjectBusy, RunLock, remove_leftovers
from tests.kedro_project import kedro, scratch_project

HOLD = (
    "import sys, time; from pathlib import Path; from rakuten_kedro.run_lock import RunLock; "
    "lock = RunLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True); time.sleep(120)"
)


def hold_lock(data_dir: Path) -> subprocess.Popen:
    """Another 'run' holding the project's lock, until killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_second_run_stops_at_once_naming_the_first(tmp_path: Path):
    holder = hold_lock(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(ProjectBusy, match=rf"\(PID {holder.pid} on .* started .*: -c "):
            RunLock(tmp_path).acquire()
        assert time.monotonic() - started < 2
    finally:
        kill(holder)


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path: Path, caplog):
    holder = hold_lock(tmp_path)
    kill(holder)  # SIGKILL: no chance to release anything
    lock = RunLock(tmp_path)
    with caplog.at_level(logging.WARNING, logger="rakuten_kedro.run_lock"):
        lock.acquire()
    assert f"taking over the lock left by a run that did not finish (PID {holder.pid}" in (
        caplog.text
    )
    lock.release()
    lock.release()  # twice is harmless


def test_waiting_queues_behind_the_running_one(tmp_path: Path):
    holder = hold_lock(tmp_path)
    try:
        waiting = RunLock(tmp_path, wait=True, poll_seconds=0.1)
        killer = subprocess.Popen(["sh", "-c", f"sleep 1; kill -9 {holder.pid}"])
        started = time.monotonic()
        waiting.acquire()
        assert time.monotonic() - started >= 0.9
        killer.wait()
        waiting.release()
    finally:
        kill(holder)


def test_leftovers_of_killed_writes_are_removed_and_moved_models_restored(tmp_path: Path):
    checkpoints = tmp_path / "06_models" / "checkpoints" / "image" / "stage2"
    checkpoints.mkdir(parents=True)
    (checkpoints / "checkpoint.pt").write_bytes(b"kept")
    (checkpoints / ".checkpoint.pt.k2j3.tmp").write_bytes(b"x" * 1000)
    models = tmp_path / "06_models" / "text"
    (models / ".text_model.tmp-ab12").mkdir(parents=True)
    (models / ".text_model.tmp-ab12" / "model.safetensors").write_bytes(b"y" * 500)
    moved = models / ".image_model.old-.image_model.tmp-cd34"
    moved.mkdir()
    (moved / "config.json").write_text("{}")
    raw = tmp_path / "01_raw" / "demo"
    raw.mkdir(parents=True)
    (raw / ".notes.tmp").write_text("the user's own file")

    assert remove_leftovers(tmp_path) == 1500
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint.pt"]
    assert sorted(p.name for p in models.iterdir()) == ["image_model"]  # put back
    assert (models / "image_model" / "config.json").is_file()
    assert (raw / ".notes.tmp").read_text() == "the user's own file"


def test_kedro_run_refuses_a_busy_project_then_cleans_up_after_a_killed_run(tmp_path: Path):
    project = scratch_project(tmp_path / "project")
    leftover = project / "data/06_models/checkpoints/x/.checkpoint.pt.abc.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a checkpoint")
    holder = hold_lock(project / "data")
    try:
        busy = kedro(project, "run", "--nodes", "encode_labels_node")
    finally:
        kill(holder)
    assert busy.returncode != 0
    assert f"Another kedro run is using this project (PID {holder.pid}" in busy.stdout + busy.stderr
    assert "Traceback" not in busy.stdout + busy.stderr  # the message alone
    assert leftover.exists()  # nothing is touched while another run may be writing

    again = kedro(project, "run", "--nodes", "encode_labels_node")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "taking over the lock" in again.stdout + again.stderr  # (rich wraps long lines)
    assert not leftover.exists()
    assert (project / "data/03_primary/label_encoding.json").is_file()
    assert not os.path.getsize(project / "data/.kedro-run.lock")  # released, record emptied
