"""CheckpointsDataset: finished trainings' checkpoints are kept, or deleted after a successful
run when the user keeps none; unfinished ones always stay (a rerun resumes them)."""

from __future__ import annotations

from pathlib import Path

import torch
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from rakuten_kedro.datasets.checkpoints import CheckpointsDataset
from rakuten_kedro.fingerprint import Fingerprint
from rakuten_kedro.hooks import FinishedCheckpointsHooks
from rakuten_kedro.training.checkpoint import (
    TrainState,
    finished_checkpoint,
    save_checkpoint,
)


def write_checkpoints(root: Path) -> tuple[Path, Path, Path]:
    """A finished image stage, an unfinished text training and a fitted tokenizer beside it."""
    fingerprint = Fingerprint.of(settings={"epochs": 2})
    finished = save_checkpoint(
        finished_checkpoint(fingerprint, TrainState(epochs_done=2), {"w": torch.ones(3)}),
        root / "image_a" / "stage1",
    )
    unfinished = save_checkpoint(
        {"fingerprint": fingerprint.as_dict(), "model": {"w": torch.zeros(3)}}, root / "text"
    )
    tokenizer = root / "text" / "tokenizer" / "tokenizer.json"
    tokenizer.parent.mkdir()
    tokenizer.write_text("{}")
    return finished, unfinished, tokenizer


def test_finished_checkpoints_are_kept_unless_the_user_keeps_none(tmp_path: Path):
    root = tmp_path / "checkpoints"
    finished, unfinished, tokenizer = write_checkpoints(root)
    assert CheckpointsDataset(path=str(root)).discard_finished() == []
    assert finished.is_file()
    assert CheckpointsDataset(path=str(root), keep_finished=False).discard_finished() == [finished]
    assert not (root / "image_a").exists()  # the folders it emptied go too
    assert unfinished.is_file() and tokenizer.is_file()


def _train(checkpoints):
    return "model"


def test_only_a_run_that_trains_deletes_them(tmp_path: Path):
    root = tmp_path / "checkpoints"
    finished, _, _ = write_checkpoints(root)
    catalog = DataCatalog(
        datasets={"checkpoints": CheckpointsDataset(path=str(root), keep_finished=False)}
    )
    reporting = Pipeline([Node(lambda model: model, "model", "report", name="report")])
    FinishedCheckpointsHooks().after_pipeline_run(pipeline=reporting, catalog=catalog)
    assert finished.is_file()
    training = Pipeline([Node(_train, "checkpoints", "model", name="train")])
    FinishedCheckpointsHooks().after_pipeline_run(pipeline=training, catalog=catalog)
    assert not finished.exists()
