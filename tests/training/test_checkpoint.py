"""Atomic checkpoint files that hold tensors and plain values only."""

import os

import pytest
import torch

from rakuten_kedro.training.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint


def test_round_trip_leaves_no_temporary_file(tmp_path):
    assert load_checkpoint(tmp_path) is None
    assert load_checkpoint(None) is None
    save_checkpoint({"epochs_done": 1, "w": torch.ones(2)}, tmp_path / "ckpt")
    save_checkpoint({"epochs_done": 2, "w": torch.zeros(2)}, tmp_path / "ckpt")
    state = load_checkpoint(tmp_path / "ckpt")
    assert state["epochs_done"] == 2
    torch.testing.assert_close(state["w"], torch.zeros(2))
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["checkpoint.pt"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    save_checkpoint({"epochs_done": 1}, tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - any pickling error
        save_checkpoint({"epochs_done": 2, "bad": lambda: None}, tmp_path)
    assert load_checkpoint(tmp_path)["epochs_done"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_unreadable_checkpoint_says_what_to_do(tmp_path):
    checkpoint_path(tmp_path).write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="Could not read .* Delete it to start the training"):
        load_checkpoint(tmp_path)


class _Payload:
    """What a crafted checkpoint would run when unpickled: it creates a file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "payload_ran"
    torch.save({"state": {"epochs_done": 1}, "x": _Payload(str(marker))}, checkpoint_path(tmp_path))
    with pytest.raises(RuntimeError, match=r"Refusing to load .*system.*Nothing in it was run"):
        load_checkpoint(tmp_path)
    assert not marker.exists()
