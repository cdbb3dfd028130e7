"""The shared training loop on a tiny MLP and synthetic, linearly separable data."""

from __future__ import annotations

import gc
import logging

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader
from transformers import get_scheduler

from rakuten_kedro.fingerprint import Fingerprint
from rakuten_kedro.training import (
    TrainConfig,
    batches_per_epoch,
    fit,
    optimizer_steps,
    predict,
    scaled_lr,
)
from rakuten_kedro.training.checkpoint import load_checkpoint
from rakuten_kedro.training.loop import (
    add_epoch_observer,
    process_accelerator,
    remove_epoch_observer,
    resolve_mixed_precision,
)
from tests.training.blobs import DIM, NUM_CLASSES, Blobs


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(DIM, 16), nn.ReLU(), nn.Linear(16, NUM_CLASSES))


def logits_fn(model: nn.Module, batch: dict) -> torch.Tensor:
    return model(batch["x"])


def loss_fn(model: nn.Module, batch: dict) -> torch.Tensor:
    return nn.functional.cross_entropy(logits_fn(model, batch), batch["labels"])


def setup(epochs: int, accumulation: int = 1, lr: float = 0.05):
    train = DataLoader(Blobs(96, seed=1), batch_size=16, shuffle=True)
    val = DataLoader(Blobs(48, seed=2), batch_size=16)
    model = make_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = optimizer_steps(train, epochs, accumulation)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=steps // 10,
                              num_training_steps=steps)  # fmt: skip
    return model, train, val, optimizer, scheduler


def run_fit(epochs: int, tmp_path=None, loss=loss_fn, logits=logits_fn, **config):
    model, train, val, optimizer, scheduler = setup(
        epochs, config.get("gradient_accumulation_steps", 1)
    )
    cfg = TrainConfig(epochs=epochs, cpu=True, progress=False, checkpoint_dir=tmp_path, **config)
    return fit(
        model, train, val, optimizer=optimizer, scheduler=scheduler, loss_fn=loss,
        logits_fn=logits, config=cfg,
    )  # fmt: skip


def test_loss_falls_and_macro_f1_beats_chance():
    result = run_fit(epochs=4)
    losses = [h["train_loss"] for h in result.history]
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    assert losses[-1] < losses[0] * 0.5
    assert result.best_score > 0.8  # chance is 0.25
    assert all(h["samples_per_s"] > 0 for h in result.history)


def test_best_epoch_weights_are_returned(tmp_path):
    result = run_fit(epochs=4, tmp_path=tmp_path)
    scores = [h["val_macro_f1"] for h in result.history]
    assert result.best_epoch == int(np.argmax(scores)) + 1
    assert result.best_score == pytest.approx(max(scores))
    # The returned weights are the best epoch's, not the last epoch's.
    state = load_checkpoint(tmp_path)
    for name, tensor in result.model.state_dict().items():
        torch.testing.assert_close(tensor, state["best_state"][name])
    val = DataLoader(Blobs(48, seed=2), batch_size=16)
    probs, _ = predict(result.model, val, logits_fn=logits_fn, cpu=True, progress=False)
    accuracy = float((probs.argmax(1) == val.dataset.labels.numpy()).mean())
    assert accuracy == pytest.approx(result.history[result.best_epoch - 1]["val_accuracy"])


class Interrupt(Exception):
    """Stands for a killed run."""


def test_resume_continues_at_the_right_epoch(tmp_path, caplog):
    uninterrupted = run_fit(epochs=4, tmp_path=tmp_path / "a")

    calls = {"n": 0}

    def crashing_loss(model, batch):
        calls["n"] += 1
        if calls["n"] > 2 * 6 + 3:  # 6 batches per epoch: dies inside epoch 3
            raise Interrupt
        return loss_fn(model, batch)

    with pytest.raises(Interrupt):
        run_fit(epochs=4, tmp_path=tmp_path / "b", loss=crashing_loss)
    assert load_checkpoint(tmp_path / "b")["state"]["epochs_done"] == 2

    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.loop"):
        resumed = run_fit(epochs=4, tmp_path=tmp_path / "b")
    assert "resuming from epoch 3" in caplog.text
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    # Same batches, same weights as a run that was never interrupted.
    for name, tensor in uninterrupted.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], tensor)
    assert resumed.best_epoch == uninterrupted.best_epoch


def test_finished_checkpoint_is_not_trained_again(tmp_path, caplog):
    first = run_fit(epochs=2, tmp_path=tmp_path)

    def must_not_train(model, batch):
        raise AssertionError("trained again")

    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.loop"):
        again = run_fit(epochs=2, tmp_path=tmp_path, loss=must_not_train)
    assert "same settings and data" in caplog.text and "not training again" in caplog.text
    assert again.reused and not first.reused
    assert again.history == first.history
    for name, tensor in first.model.state_dict().items():
        torch.testing.assert_close(again.model.state_dict()[name], tensor)


def test_checkpoint_with_other_settings_is_ignored(tmp_path, caplog):
    run_fit(epochs=1, tmp_path=tmp_path, fingerprint=Fingerprint.of(settings={"lr": 0.05}))
    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.checkpoint"):
        result = run_fit(
            epochs=2, tmp_path=tmp_path, fingerprint=Fingerprint.of(settings={"lr": 0.01})
        )
    assert "training again: settings changed since the checkpoint" in caplog.text
    assert len(result.history) == 2 and not result.reused
    saved = load_checkpoint(tmp_path)["fingerprint"]
    assert Fingerprint.of(settings={"lr": 0.01}).parts["settings"] == saved["parts"]["settings"]


def test_other_training_data_is_named_as_the_reason_to_train_again(tmp_path, caplog):
    run_fit(epochs=1, tmp_path=tmp_path, fingerprint=Fingerprint.of(training_text="a"))
    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.checkpoint"):
        run_fit(epochs=1, tmp_path=tmp_path, fingerprint=Fingerprint.of(training_text="b"))
    assert "training again: training text changed since the checkpoint" in caplog.text


def test_other_initial_weights_train_again(tmp_path, caplog):
    model, train, val, optimizer, scheduler = setup(epochs=1)
    config = TrainConfig(epochs=1, cpu=True, progress=False, checkpoint_dir=tmp_path)
    fit(model, train, val, optimizer=optimizer, scheduler=scheduler, loss_fn=loss_fn,
        logits_fn=logits_fn, config=config)  # fmt: skip
    other = make_model()
    with torch.no_grad():
        other[0].weight.add_(1.0)  # e.g. a stage 1 model trained differently
    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.checkpoint"):
        result = fit(
            other, train, val, optimizer=torch.optim.AdamW(other.parameters()), scheduler=None,
            loss_fn=loss_fn, logits_fn=logits_fn, config=config,
        )  # fmt: skip
    assert "initial weights changed" in caplog.text and not result.reused


def test_a_finished_checkpoint_is_compacted_to_its_best_weights(tmp_path):
    result = run_fit(epochs=2, tmp_path=tmp_path)
    saved = load_checkpoint(tmp_path)
    assert saved["finished"] and set(saved) == {"fingerprint", "state", "best_state", "finished"}
    assert saved["state"]["best_epoch"] == result.best_epoch


def test_early_stopping_after_patience():
    def constant_logits(model, batch):
        # The validation score never improves after epoch 1.
        return model(batch["x"]) * 0  # losses and logits only call the (wrapped) model

    result = run_fit(epochs=10, logits=constant_logits, patience=2)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.best_epoch == 1


def test_a_larger_patience_trains_again_from_the_start(tmp_path, caplog):
    def constant_logits(model, batch):
        return model(batch["x"]) * 0  # losses and logits only call the (wrapped) model

    run_fit(epochs=10, tmp_path=tmp_path, logits=constant_logits, patience=2)
    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.loop"):
        result = run_fit(epochs=10, tmp_path=tmp_path, logits=constant_logits, patience=4)
    assert "keeps only its best weights" in caplog.text
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]


def test_gradient_accumulation_steps_the_scheduler_once_per_optimizer_step():
    model, train, val, optimizer, _ = setup(epochs=2, accumulation=3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    fit(
        model, train, val, optimizer=optimizer, scheduler=scheduler, loss_fn=loss_fn,
        logits_fn=logits_fn,
        config=TrainConfig(epochs=2, gradient_accumulation_steps=3, cpu=True, progress=False),
    )  # fmt: skip
    assert optimizer_steps(train, 2, 3) == 4  # 6 batches / 3 per step × 2 epochs
    assert scheduler.last_epoch == 4


def test_max_batches_per_epoch_takes_a_few_steps_of_each_epoch():
    model, train, val, optimizer, _ = setup(epochs=3, accumulation=2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    seen = []

    def counting_loss(model, batch):
        seen.append(len(batch["labels"]))
        return loss_fn(model, batch)

    config = TrainConfig(
        epochs=3, gradient_accumulation_steps=2, cpu=True, progress=False,
        max_batches_per_epoch=3,
    )  # fmt: skip
    fit(
        model, train, val, optimizer=optimizer, scheduler=scheduler, loss_fn=counting_loss,
        logits_fn=logits_fn, config=config,
    )  # fmt: skip
    assert len(seen) == 9  # 3 of the 6 batches in each of 3 epochs
    # Per epoch: a step after batches 2, and one for the cut-off batch 3.
    assert optimizer_steps(train, 3, 2, max_batches=3) == 6 == scheduler.last_epoch


def test_two_processes_scale_sgd_rates_linearly_and_keep_adamw_rates(monkeypatch, caplog):
    assert scaled_lr(0.01, "linear") == 0.01  # one process: nothing to scale
    monkeypatch.setenv("WORLD_SIZE", "2")
    with caplog.at_level(logging.INFO, logger="rakuten_kedro.training.loop"):
        assert scaled_lr(0.01, "linear", name="image") == pytest.approx(0.02)
    assert "image: 2 processes: learning rate 0.01 x 2 = 0.02 (scale_lr: linear)" in caplog.text
    assert scaled_lr(5e-5, "none") == 5e-5
    # Each process takes half the batches: schedules are sized per process.
    train = DataLoader(Blobs(96, seed=1), batch_size=16)
    assert batches_per_epoch(train) == 3 and optimizer_steps(train, 2, 1) == 6
    with pytest.raises(ValueError, match="scale_lr must be one of"):
        scaled_lr(0.01, "sqrt")


class HiddenAndLogits(nn.Module):
    """The MLP of make_model, able to return its hidden features too (through forward)."""

    def __init__(self) -> None:
        super().__init__()
        self.mlp = make_model()

    def forward(self, x: torch.Tensor, features: bool = False):
        hidden = self.mlp[1](self.mlp[0](x))
        logits = self.mlp[2](hidden)
        return (logits, hidden) if features else logits


def test_predict_keeps_row_order_and_returns_features():
    model = HiddenAndLogits()
    data = Blobs(37, seed=3)
    loader = DataLoader(data, batch_size=8)

    def features_fn(model, batch):
        return model(batch["x"], features=True)[1]

    probs, features = predict(
        model, loader, logits_fn=logits_fn, features_fn=features_fn, cpu=True, progress=False
    )
    assert probs.shape == (37, NUM_CLASSES) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    assert features.shape == (37, 16) and features.dtype == np.float32
    with torch.no_grad():
        expected = torch.softmax(model(data.x), -1).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)

    def shared_forward(model, batch):
        return model(batch["x"], features=True)

    probs2, features2 = predict(
        model, loader, logits_fn=None, features_fn=shared_forward, cpu=True, progress=False
    )
    np.testing.assert_allclose(probs2, probs, rtol=1e-6)
    np.testing.assert_allclose(features2, features, rtol=1e-6)
    assert predict(model, loader, logits_fn=logits_fn, cpu=True, progress=False)[1] is None


def test_config_rejects_unknown_precision():
    with pytest.raises(ValueError, match="mixed_precision"):
        TrainConfig(mixed_precision="fp8x")


def test_successive_fits_may_change_precision_on_the_one_accelerator():
    assert run_fit(epochs=1, mixed_precision="bf16").best_score > 0.3
    assert run_fit(epochs=1, mixed_precision="no").best_score > 0.3
    assert process_accelerator() is process_accelerator()
    assert resolve_mixed_precision("auto", torch.device("cpu")) == "no"
    assert resolve_mixed_precision("bf16", torch.device("cpu")) == "bf16"


def test_bf16_autocast_trains_and_leaves_a_plain_model():
    result = run_fit(epochs=3, mixed_precision="bf16")
    assert result.best_score > 0.8
    # accelerate's autocast wrapper is removed: the model runs in float32 afterwards.
    assert "_original_forward" not in result.model.__dict__
    assert result.model(torch.zeros(2, DIM)).dtype == torch.float32


def test_compiled_training_matches_eager_and_saves_a_plain_module(tmp_path, monkeypatch):
    # "eager" runs the same torch.compile graph capture as inductor, without minutes of codegen.
    monkeypatch.setattr("rakuten_kedro.training.loop.COMPILE_BACKEND", "eager")
    compiled = run_fit(epochs=2, tmp_path=tmp_path / "compiled", compile=True)
    eager = run_fit(epochs=2, tmp_path=tmp_path / "eager")
    assert not isinstance(compiled.model, torch._dynamo.eval_frame.OptimizedModule)
    assert list(compiled.model.state_dict()) == list(eager.model.state_dict())
    for a, b in zip(compiled.model.parameters(), eager.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    saved = load_checkpoint(tmp_path / "compiled")
    assert not any(key.startswith("_orig_mod") for key in saved["best_state"])


def test_fit_and_predict_never_ask_for_a_garbage_collection(monkeypatch):
    # accelerate's free_memory() runs gc.collect(): 0.7 s per fit/predict in a process holding
    # a run's tables, most of a fusion cross-validation's time.
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(args) or 0)
    result = run_fit(epochs=1)
    predict(result.model, DataLoader(Blobs(8, seed=4), batch_size=4), logits_fn=logits_fn)
    assert collections == []


def test_epoch_observers_see_every_epoch_and_a_reused_training_replays_its_history(tmp_path):
    seen: list[tuple[str, int, float]] = []

    def observer(name, record):
        seen.append((name, record["epoch"], record["train_loss"]))

    add_epoch_observer(observer)
    try:
        trained = run_fit(epochs=3, tmp_path=tmp_path, name="blobs")
        reused = run_fit(epochs=3, tmp_path=tmp_path, name="blobs")
    finally:
        remove_epoch_observer(observer)
    run_fit(epochs=1, name="blobs")  # removed: no longer told
    losses = [(h["epoch"], h["train_loss"]) for h in trained.history]
    assert reused.reused
    assert seen == [("blobs", epoch, loss) for epoch, loss in losses] * 2
