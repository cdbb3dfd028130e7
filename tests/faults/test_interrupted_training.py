"""Interrupted training: a SIGKILLed training loop resumes at the right epoch, and a denoising
cross-validation that crashed in fold 3 reuses the finished folds; both end as if never
interrupted."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader
from transformers import get_scheduler

from rakuten_kedro.training import TrainConfig, fit, optimizer_steps, predict
from rakuten_kedro.training.checkpoint import checkpoint_path, load_checkpoint
from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.vision import train as vision_train
from rakuten_kedro.vision.denoise import out_of_fold_probs
from tests.params import params
from tests.training.blobs import DIM, Blobs
from tests.vision.fixtures import CODES, make_image_products

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _logits(model: nn.Module, batch: dict) -> torch.Tensor:
    return model(batch["x"])


def train_blobs(checkpoint_dir: str | None, step_delay: float = 0.0):
    """A dropout MLP (so the RNG matters) trained with shuffling, warm-up and AdamW."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(DIM, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4))
    train = DataLoader(Blobs(96, seed=1), batch_size=16, shuffle=True)
    val = DataLoader(Blobs(48, seed=2), batch_size=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02)
    steps = optimizer_steps(train, EPOCHS, 1)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=steps // 10,
                              num_training_steps=steps)  # fmt: skip

    def loss_fn(model: nn.Module, batch: dict) -> torch.Tensor:
        time.sleep(step_delay)  # slow enough to be killed between two checkpoints
        return nn.functional.cross_entropy(_logits(model, batch), batch["labels"])

    config = TrainConfig(
        epochs=EPOCHS, cpu=True, progress=False, checkpoint_dir=checkpoint_dir, seed=7
    )
    result = fit(
        model, train, val, optimizer=optimizer, scheduler=scheduler, loss_fn=loss_fn,
        logits_fn=_logits, config=config,
    )  # fmt: skip
    probs, _ = predict(result.model, val, logits_fn=_logits, cpu=True, progress=False)
    return result, probs


SUBPROCESS = (
    "import sys; from tests.faults.test_interrupted_training import train_blobs; "
    "train_blobs(sys.argv[1], step_delay=0.1)"
)


def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path: Path, caplog):
    checkpoints = tmp_path / "checkpoints"
    process = subprocess.Popen([sys.executable, "-c", SUBPROCESS, str(checkpoints)], cwd=ROOT)
    deadline = time.monotonic() + 60
    try:
        while not checkpoint_path(checkpoints).is_file() and time.monotonic() < deadline:
            assert process.poll() is None, "the training subprocess died on its own"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    state = load_checkpoint(checkpoints)
    assert state is not None, "no checkpoint appeared within 60 s"
    done = state["state"]["epochs_done"]
    assert 1 <= done < EPOCHS, "the run was not caught mid-way"
    # An atomic writer leaves no half-written file beside the checkpoint.
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint.pt"]

    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.loop"):
        resumed, resumed_probs = train_blobs(str(checkpoints))
    assert f"resuming from epoch {done + 1}" in caplog.text
    assert [h["epoch"] for h in resumed.history] == list(range(1, EPOCHS + 1))

    uninterrupted, probs = train_blobs(None)
    assert resumed.best_epoch == uninterrupted.best_epoch
    for name, tensor in uninterrupted.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], tensor, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed_probs, probs)


# --- denoising cross-validation ---------------------------------------------------------------

DENOISING = params(
    "denoising",
    augment={"rotation_degrees": 0},
    train={"cache_size": 16, "input_size": 16, "epochs": 2, "batch_size": 16, "lr": 0.003},
    run={"progress": False, "mixed_precision": "no", "cpu": True, "seed": 3},
)


REAL_FIT = vision_train.fit


class CrashInFold3(Exception):
    """Stands for a run killed during the third fold."""


def denoising_oof(checkpoint_root: Path | None, monkeypatch, crash: bool = False) -> tuple:
    """Out-of-fold probabilities of 3 folds; returns them and the training steps per fold."""
    products, _, cache, _, _ = make_image_products(n_per_class=12, flip_rate=0.1, sizes=(16,))
    train, val = products[products["split"] == "train"], products[products["split"] == "val"]
    labels = train["label"].to_numpy()
    position = {row_id: i for i, row_id in enumerate(cache.row_ids)}
    steps: dict[str, int] = {}

    def counting_fit(*args, loss_fn, config, **kwargs):
        def loss(model, batch):
            steps[config.name] = steps.get(config.name, 0) + 1
            if crash and config.name.startswith("denoising fold 3/") and steps[config.name] > 1:
                raise CrashInFold3  # after its first epoch (one batch) was checkpointed
            return loss_fn(model, batch)

        return REAL_FIT(*args, loss_fn=loss, config=config, **kwargs)

    monkeypatch.setattr(vision_train, "fit", counting_fit)
    probs = out_of_fold_probs(
        cache.images(16),
        np.array([position[r] for r in train["row_id"]]),
        labels,
        assign_folds(labels, 3, seed=0),
        val_positions=np.array([position[r] for r in val["row_id"]]),
        val_labels=val["label"].to_numpy(),
        num_classes=len(CODES),
        params=DENOISING,
        checkpoint_root=checkpoint_root,
    )
    return probs, steps


def test_denoising_rerun_after_a_crash_in_fold_3_reuses_the_finished_folds(
    tmp_path: Path, monkeypatch, caplog
):
    root = tmp_path / "denoising"
    with pytest.raises(CrashInFold3):
        denoising_oof(root, monkeypatch, crash=True)
    assert load_checkpoint(root / "fold0")["finished"]
    assert load_checkpoint(root / "fold1")["finished"]
    assert load_checkpoint(root / "fold2")["state"]["epochs_done"] == 1

    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.loop"):
        resumed, steps = denoising_oof(root, monkeypatch)
    # Folds 1 and 2 are not trained again; fold 3 resumes at its second epoch.
    assert set(steps) == {"denoising fold 3/3"}
    assert caplog.text.count("not training again") == 2
    assert "denoising fold 3/3: resuming from epoch 2" in caplog.text

    uninterrupted, steps = denoising_oof(None, monkeypatch)
    assert len(steps) == 3
    np.testing.assert_array_equal(resumed, uninterrupted)
