"""One train / evaluate / predict loop for every network (text, image, fusion), on `accelerate`.

The model code never names a device, a precision or a number of GPUs. One process-wide
:class:`accelerate.Accelerator` places models and batches (CPU, one GPU, several GPUs under
``accelerate launch``), shards and gathers data and synchronises gradients; this module adds
what differs per network: mixed precision (autocast, and a gradient scaler for fp16), gradient
accumulation, ``torch.compile`` and DDP's unused-parameter search. Models differ only through
two small callables:

- ``loss_fn(model, batch) -> scalar tensor`` (the DCL image model returns its sum of three
  losses here),
- ``logits_fn(model, batch) -> [B, C] tensor`` (used for validation and prediction),

and batches are dicts whose ``"labels"`` entry holds the target label indices.

``fit`` reads like the torchvision reference: :func:`train_one_epoch` then :func:`evaluate`
per epoch over a small :class:`~rakuten_kedro.training.checkpoint.TrainState`, keeping the
best epoch's weights and stopping after ``patience`` epochs without improvement; resuming and
checkpointing live in ``training/checkpoint.py``. A checkpoint is reused only when it was made
from the same settings, data and initial weights (``TrainConfig.fingerprint``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from rakuten_kedro.config import DEFAULT_SEED, LrScaling
from rakuten_kedro.distributed import world_size
from rakuten_kedro.fingerprint import Fingerprint, model_digest
from rakuten_kedro.training.checkpoint import (
    TrainState,
    checkpoint_path,
    cpu_state_dict,
    finished_checkpoint,
    resume_point,
    save_checkpoint,
    train_state,
    training_checkpoint,
)
from rakuten_kedro.training.metrics import macro_f1

logger = logging.getLogger(__name__)

Batch = Mapping[str, Any]
LossFn = Callable[[torch.nn.Module, Batch], torch.Tensor]
LogitsFn = Callable[[torch.nn.Module, Batch], torch.Tensor]
FeaturesFn = Callable[[torch.nn.Module, Batch], Any]
#: ``observer(name, record)``: told about every epoch of every training (see
#: :func:`add_epoch_observer`).
EpochObserver = Callable[[str, Mapping[str, float]], None]

MIXED_PRECISION_MODES = ("no", "fp16", "bf16", "auto")
#: ``torch.compile`` backend of :attr:`TrainConfig.compile`.
COMPILE_BACKEND = "inductor"
#: Steps between progress-bar loss updates (each update waits for the device).
_POSTFIX_EVERY = 10
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
_EPOCH_OBSERVERS: list[EpochObserver] = []


@dataclass
class TrainConfig:
    """How to train; the model, data, optimizer and loss are passed to :func:`fit` separately.

    Attributes:
        epochs: Maximum number of epochs.
        gradient_accumulation_steps: Batches per optimizer step (effective batch =
            batch size × this × number of processes).
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"`` (see
            :func:`resolve_mixed_precision`).
        patience: Stop after this many epochs without a better validation macro-F1
            (``None`` or 0: never stop early).
        seed: Seed for weights, shuffling and dropout; epoch ``e`` reseeds with ``seed + e`` so
            a resumed run sees the same batches as an uninterrupted one.
        checkpoint_dir: Folder for the checkpoint (``None``: no checkpoint, no resume).
        checkpoint_every_epoch: Checkpoint after every epoch (resumable mid-training); False
            writes only the finished training (tiny networks that train in a second).
        cpu: Train on the CPU even when the process has a GPU (tiny networks).
        max_grad_norm: Clip the gradient norm to this value (``None``: no clipping).
        progress: Show a tqdm progress bar (only on a terminal).
        fingerprint: What the result depends on besides the initial weights (settings and the
            digests of the training and validation data); a checkpoint made from anything else
            is not reused.
        name: Shown in the progress bar and log lines (e.g. the variant name).
        compile: Compile the model with ``torch.compile`` (:data:`COMPILE_BACKEND`): a minute
            or more of compilation, then faster steps; worth it for long GPU runs, not for the
            CPU demo. Checkpoints and saved models are the plain module's either way.
        find_unused_parameters: Tell DDP that some parameters may get no gradient (e.g. an
            encoder's pooler under mean pooling); it costs a graph walk per step, so only
            models that need it ask for it.
        max_batches_per_epoch: Stop each epoch after this many batches per process (``None``:
            the whole loader). For smoke tests and rehearsals: a few steps of a full-size model.
    """

    epochs: int = 3
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    patience: int | None = None
    seed: int = DEFAULT_SEED
    checkpoint_dir: str | Path | None = None
    checkpoint_every_epoch: bool = True
    cpu: bool = False
    max_grad_norm: float | None = 1.0
    progress: bool = True
    fingerprint: Fingerprint = field(default_factory=Fingerprint)
    name: str = "train"
    compile: bool = False
    find_unused_parameters: bool = False
    max_batches_per_epoch: int | None = None

    def __post_init__(self) -> None:
        if self.mixed_precision not in MIXED_PRECISION_MODES:
            raise ValueError(
                f"mixed_precision must be one of {MIXED_PRECISION_MODES}, "
                f"got {self.mixed_precision!r}"
            )
        if self.epochs < 1 or self.gradient_accumulation_steps < 1:
            raise ValueError(
                "epochs and gradient_accumulation_steps must be >= 1, got "
                f"{self.epochs} and {self.gradient_accumulation_steps}"
            )


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: The trained model (unwrapped, on the training device) holding the best epoch's
            weights.
        best_epoch: 1-based epoch whose validation macro-F1 was best (the last epoch when
            there is no validation data).
        best_score: That epoch's validation macro-F1 (NaN without validation data).
        history: One dict per epoch: ``epoch``, ``train_loss``, ``val_macro_f1``,
            ``val_accuracy``, ``samples_per_s``, ``seconds``, ``lr``.
        reused: True when a finished checkpoint from the same settings and data was reused
            instead of training.
    """

    model: torch.nn.Module
    best_epoch: int
    best_score: float
    history: list[dict[str, float]] = field(default_factory=list)
    reused: bool = False


# ---------------------------------------------------------------------------------------------
# Epoch observers


def add_epoch_observer(observer: EpochObserver) -> None:
    """Tell ``observer(name, record)`` about every epoch :func:`fit` trains, resumes or reuses.

    ``name`` is ``TrainConfig.name`` and ``record`` one ``FitResult.history`` entry. A resumed
    or reused training first replays the epochs of its checkpoint, so an observer sees the
    whole history of the weights a run ends with. Experiment tracking subscribes here, so the
    loop knows no tracker.
    """
    _EPOCH_OBSERVERS.append(observer)


def remove_epoch_observer(observer: EpochObserver) -> None:
    """Stop telling ``observer`` (added by :func:`add_epoch_observer`); absent: nothing."""
    if observer in _EPOCH_OBSERVERS:
        _EPOCH_OBSERVERS.remove(observer)


def _tell_observers(name: str, records: list[dict[str, float]]) -> None:
    for observer in list(_EPOCH_OBSERVERS):
        for record in records:
            observer(name, record)


# ---------------------------------------------------------------------------------------------
# Device, precision and preparation


@functools.cache
def process_accelerator() -> Accelerator:
    """The process's one ``Accelerator``: device placement, DDP, data sharding, gathering.

    accelerate keeps its state process-wide, so every model of a run shares this one; what
    differs per model (precision, accumulation, compile, DDP options) is applied per call.
    Under a multi-process launch (``WORLD_SIZE`` > 1) on a machine without a CUDA GPU, the CPU
    is used with the gloo backend: otherwise accelerate would let every process train alone on
    all the data.
    """
    # Precision and compilation are per model (parameters), never accelerate's process-wide
    # defaults, so `accelerate launch --mixed_precision …` cannot change a model silently.
    return Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no", dynamo_backend="no")


def resolve_mixed_precision(mixed_precision: str, device: torch.device) -> str:
    """Turns ``"auto"`` into what the device supports (bf16 > fp16 on GPU, none on CPU).

    Not bf16 on the CPU, even where it is native (AVX512-BF16, AMX): on the demo it saved 6 %
    of the run and moved some fusion scores by 3 points; ask for it with ``"bf16"``.

    Args:
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"``.
        device: The device the model trains on.

    Returns:
        ``"no"``, ``"fp16"`` or ``"bf16"``.
    """
    if mixed_precision != "auto":
        return mixed_precision
    if device.type != "cuda":
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed-precision autocast for ``precision`` (a resolved mode), or nothing for ``"no"``."""
    if precision == "no":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_AUTOCAST_DTYPES[precision])


class _Prepared(torch.nn.Module):
    """A fresh wrapper per ``prepare``: accelerate marks what it prepared and would hand a
    marked module back untouched (no DDP, no placement) the next time, e.g. to stage 2."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)


@dataclass
class _Setup:
    """A network made ready for one ``fit`` or ``predict`` call."""

    accelerator: Accelerator
    device: torch.device
    precision: str
    model: torch.nn.Module  # what batches go through (DDP / compiled wrapper, or the module)
    plain: torch.nn.Module  # the module itself: its state dict has no wrapper prefixes
    accelerated: bool  # False: trained locally on the CPU, outside accelerate

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.precision)

    def loader(self, loader: DataLoader | None) -> Any:
        """``loader`` sharded across processes, batches on the device (as is when local)."""
        if loader is None or not self.accelerated:
            return loader
        return self.accelerator.prepare_data_loader(loader)

    @property
    def processes(self) -> int:
        return self.accelerator.num_processes if self.accelerated else 1

    def gather(self, tensors: Any) -> Any:
        return self.accelerator.gather_for_metrics(tensors) if self.accelerated else tensors

    def no_sync(self, sync: bool) -> contextlib.AbstractContextManager:
        """DDP's gradient sync skipped on the batches that only accumulate gradients."""
        if sync or not self.accelerated:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(self.model)

    def release(self) -> torch.nn.Module:
        """Drops accelerate's references to the prepared objects; returns the plain module.

        Not ``accelerator.free_memory()``: it also runs a full ``gc.collect()``, which costs
        0.7 s per call in a process holding a run's tables (33 s of a 41 s fusion benchmark).
        """
        if self.accelerated:
            accelerator = self.accelerator
            accelerator._models, accelerator._dataloaders = [], []  # noqa: SLF001
            accelerator._optimizers, accelerator._schedulers = [], []  # noqa: SLF001
        return self.plain


def _setup(
    model: torch.nn.Module, *, cpu: bool, mixed_precision: str, evaluation: bool,
    compile: bool = False, find_unused_parameters: bool = False,
) -> _Setup:  # fmt: skip
    accelerator = process_accelerator()
    if cpu and accelerator.device.type != "cpu":
        # A tiny network on a GPU machine: every process trains it locally on the CPU.
        device = torch.device("cpu")
        return _Setup(
            accelerator, device, resolve_mixed_precision(mixed_precision, device),
            model.to(device), model, accelerated=False,
        )  # fmt: skip
    accelerator.ddp_handler = DistributedDataParallelKwargs(
        find_unused_parameters=find_unused_parameters
    )
    prepared = accelerator.prepare_model(_Prepared(model), evaluation_mode=evaluation)
    if compile:
        prepared = torch.compile(prepared, backend=COMPILE_BACKEND)
    device = accelerator.device
    return _Setup(
        accelerator, device, resolve_mixed_precision(mixed_precision, device), prepared, model,
        accelerated=True,
    )  # fmt: skip


def _bar_disabled(accelerator: Accelerator, progress: bool) -> bool | None:
    # None lets tqdm hide itself when stderr is not a terminal (logs, CI); one bar per machine.
    return None if progress and accelerator.is_local_main_process else True


def _batch_size(batch: Batch) -> int:
    if "labels" in batch:
        return len(batch["labels"])
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            return value.shape[0]
    return 0


def _seed_epoch(loader: Any, epoch: int, seed: int) -> None:
    set_seed(seed + epoch)
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)
    # A loader with its own generator would shuffle epoch e from the state left by epochs
    # 1..e-1, which a resumed run never went through: reseed it from the epoch instead.
    sampler = getattr(getattr(loader, "batch_sampler", None), "sampler", None)
    for generator in {
        id(g): g for g in (getattr(sampler, "generator", None), getattr(loader, "generator", None))
    }.values():
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed + epoch)


# ---------------------------------------------------------------------------------------------
# One epoch of training, one evaluation


@dataclass
class _Optimisation:
    """The optimizer side of a training: one step per ``accumulation`` batches."""

    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler | None
    max_grad_norm: float | None
    accumulation: int


def train_one_epoch(
    setup: _Setup, loader: Any, loss_fn: LossFn, optimisation: _Optimisation, *,
    epoch: int, config: TrainConfig,
) -> dict[str, float]:  # fmt: skip
    """Trains one epoch; returns ``epoch``, ``train_loss``, ``samples_per_s``, ``seconds``,
    ``lr``."""
    accelerator, model = setup.accelerator, setup.model
    model.train()
    started, seen, steps = time.perf_counter(), 0, 0
    total = _capped(len(loader), config.max_batches_per_epoch)
    # Summed on the device: reading it every step would wait for the GPU each time.
    loss_sum = torch.zeros((), device=setup.device)
    bar = tqdm(
        total=total, desc=f"{config.name} epoch {epoch}/{config.epochs}",
        disable=_bar_disabled(accelerator, config.progress), leave=False, dynamic_ncols=True,
    )  # fmt: skip
    for step, batch in enumerate(loader, start=1):
        # The last batches of an epoch make a (smaller) step of their own.
        sync = step % optimisation.accumulation == 0 or step == total
        with setup.no_sync(sync):
            with setup.autocast():
                loss = loss_fn(model, batch)
            scaled = optimisation.scaler.scale(loss) if optimisation.scaler else loss
            (scaled / optimisation.accumulation).backward()
        if sync:
            _optimizer_step(setup, optimisation)
        loss_sum += loss.detach().float()
        steps += 1
        seen += _batch_size(batch) * setup.processes
        if not bar.disable and steps % _POSTFIX_EVERY == 1:
            bar.set_postfix(loss=f"{loss_sum.item() / steps:.4f}")
        bar.update()
        if step == total:
            break
    bar.close()
    if not steps:
        raise ValueError(f"{config.name}: the training data loader yielded no batches")
    seconds = time.perf_counter() - started
    mean_loss = loss_sum / steps
    if setup.accelerated:
        mean_loss = accelerator.reduce(mean_loss, reduction="mean")
    return {
        "epoch": epoch,
        "train_loss": mean_loss.item(),
        "samples_per_s": seen / seconds,
        "seconds": seconds,
        "lr": optimisation.optimizer.param_groups[0]["lr"],
    }


def _optimizer_step(setup: _Setup, optimisation: _Optimisation) -> None:
    optimizer, scaler = optimisation.optimizer, optimisation.scaler
    if scaler is not None:
        scaler.unscale_(optimizer)
    if optimisation.max_grad_norm:
        torch.nn.utils.clip_grad_norm_(setup.plain.parameters(), optimisation.max_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    if optimisation.scheduler is not None:
        optimisation.scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def evaluate(setup: _Setup, loader: Any, logits_fn: LogitsFn) -> dict[str, float]:
    """Validation macro-F1 and accuracy (every process's rows gathered, each row once)."""
    if loader is None:
        return {"val_macro_f1": float("nan"), "val_accuracy": float("nan")}
    setup.model.eval()
    preds, labels, num_classes = [], [], 0
    with torch.inference_mode(), setup.autocast():
        for batch in loader:
            logits = logits_fn(setup.model, batch)
            num_classes = logits.shape[-1]
            pred, label = setup.gather((logits.argmax(-1), batch["labels"]))
            preds.append(pred.cpu())
            labels.append(label.cpu())
    if not preds:
        return {"val_macro_f1": float("nan"), "val_accuracy": float("nan")}
    y_pred, y_true = torch.cat(preds).numpy(), torch.cat(labels).numpy()
    return {
        "val_macro_f1": macro_f1(y_true, y_pred, num_classes),
        "val_accuracy": float((y_pred == y_true).mean()),
    }


# ---------------------------------------------------------------------------------------------
# fit


def fit(
    model: torch.nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    loss_fn: LossFn,
    logits_fn: LogitsFn,
    config: TrainConfig,
) -> FitResult:
    """Trains ``model``, keeping the epoch with the best validation macro-F1.

    With ``config.checkpoint_dir`` set, a checkpoint made from the same fingerprint (settings,
    data, and the initial weights of ``model``) is resumed after its last completed epoch, or
    reused without training when it is finished; anything else starts over, and the log says
    what changed.

    Args:
        model: The network (on the CPU, untrained or continuing an earlier stage); its weights
            are updated in place.
        train_loader: Training batches (dicts with ``"labels"``).
        val_loader: Validation batches, scored each epoch (``None``: keep the last epoch).
        optimizer: Optimizer over ``model``'s parameters.
        scheduler: Learning-rate scheduler stepped once per optimizer step, or ``None``. Size
            it with :func:`optimizer_steps`.
        loss_fn: ``loss_fn(model, batch)`` → scalar training loss.
        logits_fn: ``logits_fn(model, batch)`` → ``[B, C]`` class logits.
        config: Epochs, precision, accumulation, early stopping, seed, checkpoint folder.

    Returns:
        A :class:`FitResult` whose model holds the best epoch's weights.
    """
    fingerprint = Fingerprint({**config.fingerprint.parts, "initial weights": model_digest(model)})
    saved = resume_point(config.checkpoint_dir, fingerprint, config.name)
    state = train_state(saved)
    if saved is not None and state.finished(config.epochs, config.patience):
        return _reuse(model, saved, state, config)
    if saved is not None and saved.get("finished"):
        logger.info(
            "%s: training again: the finished checkpoint keeps only its best weights, so it "
            "cannot continue to %d epochs", config.name, config.epochs,
        )  # fmt: skip
        saved, state = None, TrainState()
    set_seed(config.seed)
    setup = _setup(
        model, cpu=config.cpu, mixed_precision=config.mixed_precision, evaluation=False,
        compile=config.compile, find_unused_parameters=config.find_unused_parameters,
    )  # fmt: skip
    optimisation = _Optimisation(
        optimizer, scheduler,
        torch.amp.GradScaler(setup.device.type) if setup.precision == "fp16" else None,
        config.max_grad_norm, config.gradient_accumulation_steps,
    )  # fmt: skip
    best_state = _restore(saved, setup, optimisation, config)
    _tell_observers(config.name, state.history)
    loaders = setup.loader(train_loader), setup.loader(val_loader)
    for epoch in range(state.epochs_done + 1, config.epochs + 1):
        if state.stopped_early(config.patience):
            break
        _seed_epoch(loaders[0], epoch, config.seed)
        record = train_one_epoch(
            setup, loaders[0], loss_fn, optimisation, epoch=epoch, config=config
        )
        record.update(evaluate(setup, loaders[1], logits_fn))
        improved = val_loader is None or state.is_better(record["val_macro_f1"])
        state.record(record, improved)
        if improved:
            best_state = cpu_state_dict(setup.plain)
        _log_epoch(config, state, record)
        _tell_observers(config.name, [record])
        if config.checkpoint_every_epoch and not state.finished(config.epochs, config.patience):
            _save(setup, config, training_checkpoint(
                fingerprint=fingerprint, state=state, model=setup.plain, best_state=best_state,
                optimizer=optimizer, scheduler=scheduler, scaler=optimisation.scaler,
            ))  # fmt: skip
    _save(setup, config, finished_checkpoint(fingerprint, state, best_state))
    plain = setup.release()
    plain.load_state_dict(best_state)
    return FitResult(plain.eval(), state.best_epoch, state.best_score, state.history)


def _restore(
    saved: dict[str, Any] | None, setup: _Setup, optimisation: _Optimisation, config: TrainConfig
) -> dict[str, torch.Tensor] | None:
    """Loads a resumable checkpoint's weights and optimizer state; returns its best weights."""
    if saved is None:
        return None
    setup.plain.load_state_dict(saved["model"])
    optimisation.optimizer.load_state_dict(saved["optimizer"])
    if optimisation.scheduler is not None and saved["scheduler"] is not None:
        optimisation.scheduler.load_state_dict(saved["scheduler"])
    if optimisation.scaler is not None and saved["scaler"] is not None:
        optimisation.scaler.load_state_dict(saved["scaler"])
    logger.info(
        "%s: resuming from epoch %d (checkpoint %s)",
        config.name, saved["state"]["epochs_done"] + 1, checkpoint_path(config.checkpoint_dir),
    )  # fmt: skip
    return saved["best_state"]


def _reuse(
    model: torch.nn.Module, saved: dict[str, Any], state: TrainState, config: TrainConfig
) -> FitResult:
    """A finished training from the same settings and data: its best weights, no training."""
    model.load_state_dict(saved["best_state"])
    _tell_observers(config.name, state.history)
    logger.info(
        "%s: reusing the finished training in %s (same settings and data; %d epochs, best "
        "epoch %d, validation macro-F1 %.4f); not training again",
        config.name, checkpoint_path(config.checkpoint_dir), state.epochs_done,
        state.best_epoch, state.best_score,
    )  # fmt: skip
    return FitResult(model.eval(), state.best_epoch, state.best_score, state.history, reused=True)


def _save(setup: _Setup, config: TrainConfig, checkpoint: dict[str, Any]) -> None:
    if config.checkpoint_dir is None:
        return
    distributed = setup.processes > 1
    if distributed:
        setup.accelerator.wait_for_everyone()
    if not distributed or setup.accelerator.is_main_process:
        save_checkpoint(checkpoint, config.checkpoint_dir)
    if distributed:
        setup.accelerator.wait_for_everyone()


def _log_epoch(config: TrainConfig, state: TrainState, record: dict[str, float]) -> None:
    logger.info(
        "%s epoch %d/%d: train loss %.4f, val macro-F1 %.4f (best %.4f @ epoch %d), "
        "%.0f samples/s, %.1f s",
        config.name, record["epoch"], config.epochs, record["train_loss"],
        record["val_macro_f1"], state.best_score, state.best_epoch, record["samples_per_s"],
        record["seconds"],
    )  # fmt: skip
    if state.stopped_early(config.patience):
        logger.info(
            "%s: early stop, no better macro-F1 for %d epochs", config.name, state.bad_epochs
        )


# ---------------------------------------------------------------------------------------------
# predict


def predict(
    model: torch.nn.Module,
    loader: DataLoader,
    *,
    logits_fn: LogitsFn,
    features_fn: FeaturesFn | None = None,
    mixed_precision: str = "no",
    cpu: bool = False,
    progress: bool = True,
    desc: str = "predict",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class probabilities (and optionally features) for every row of ``loader``, in order.

    Args:
        model: The trained network.
        loader: Batches in table order (do not shuffle).
        logits_fn: ``logits_fn(model, batch)`` → ``[B, C]`` class logits.
        features_fn: ``features_fn(model, batch)`` → ``[B, D]`` features; it may instead
            return ``(logits, features)`` to share one forward pass, and ``logits_fn`` is then
            not called.
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"``.
        cpu: Predict on the CPU even when the process has a GPU.
        progress: Show a progress bar (only on a terminal).
        desc: Progress bar label.

    Returns:
        ``(probs, features)``: softmax probabilities ``[N, C]`` float32, and the features
        ``[N, D]`` float32 (``None`` without ``features_fn``).
    """
    was_training = model.training
    setup = _setup(model, cpu=cpu, mixed_precision=mixed_precision, evaluation=True)
    setup.model.eval()
    probs, features = [], []
    with torch.inference_mode(), setup.autocast():
        for batch in _batches(setup, loader, desc, progress):
            logits, feats = _forward(setup.model, batch, logits_fn, features_fn)
            batch_probs = torch.softmax(logits.float(), dim=-1)
            if feats is None:
                probs.append(setup.gather(batch_probs).cpu())
            else:
                gathered = setup.gather((batch_probs, feats.float()))
                probs.append(gathered[0].cpu())
                features.append(gathered[1].cpu())
    setup.release().train(was_training)
    probs_array = torch.cat(probs).numpy().astype(np.float32) if probs else np.zeros((0, 0))
    if features_fn is None:
        return probs_array, None
    return probs_array, torch.cat(features).numpy().astype(np.float32)


def _batches(setup: _Setup, loader: DataLoader, desc: str, progress: bool) -> Iterator[Batch]:
    bar_off = _bar_disabled(setup.accelerator, progress)
    yield from tqdm(setup.loader(loader), desc=desc, disable=bar_off, leave=False)


def _forward(
    model: torch.nn.Module, batch: Batch, logits_fn: LogitsFn, features_fn: FeaturesFn | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    if features_fn is None:
        return logits_fn(model, batch), None
    out = features_fn(model, batch)
    return out if isinstance(out, tuple) else (logits_fn(model, batch), out)


# ---------------------------------------------------------------------------------------------
# Sizing schedules and learning rates for the launch

#: ``scale_lr`` rules: the effective batch grows with the number of processes.
LR_SCALING_RULES = get_args(LrScaling)


def _capped(batches: int, max_batches: int | None) -> int:
    return batches if max_batches is None else min(batches, max_batches)


def training_processes(cpu: bool = False) -> int:
    """How many processes share a training's batches: every process of the launch, except
    for a network trained locally on the CPU of a GPU machine (``cpu: true``)."""
    return 1 if cpu and torch.cuda.is_available() else max(1, world_size())


def batches_per_epoch(
    train_loader: DataLoader, *, cpu: bool = False, max_batches: int | None = None
) -> int:
    """Training batches each process takes per epoch: its shard of ``train_loader`` (before
    sharding), within ``max_batches`` (:attr:`TrainConfig.max_batches_per_epoch`)."""
    return _capped(-(-len(train_loader) // training_processes(cpu)), max_batches)


def optimizer_steps(
    train_loader: DataLoader, epochs: int, gradient_accumulation_steps: int, *,
    cpu: bool = False, max_batches: int | None = None,
) -> int:  # fmt: skip
    """Number of optimizer (and scheduler) steps ``fit`` will take, for sizing a scheduler.

    Args:
        train_loader: The training loader, before it is sharded across processes.
        epochs: Number of epochs.
        gradient_accumulation_steps: Batches per optimizer step.
        cpu: The training's ``cpu`` setting (see :func:`training_processes`).
        max_batches: The training's :attr:`TrainConfig.max_batches_per_epoch`.

    Returns:
        ``epochs × ceil(batches per epoch and process / accumulation)``.
    """
    batches = batches_per_epoch(train_loader, cpu=cpu, max_batches=max_batches)
    return epochs * -(-batches // gradient_accumulation_steps)


def scaled_lr(lr: float, rule: str, *, cpu: bool = False, name: str = "train") -> float:
    """The learning rate for this launch under the ``scale_lr`` rule.

    With N processes each optimizer step averages N times as many rows and there are N times
    fewer steps. ``"linear"`` multiplies the rate by N (Goyal et al., 2017: what keeps SGD's
    result comparable); ``"none"`` keeps it (the usual choice for AdamW fine-tuning, whose
    per-parameter step sizes depend little on the batch size at these scales).

    Args:
        lr: The configured learning rate (that of one process).
        rule: ``"linear"`` or ``"none"``.
        cpu: The training's ``cpu`` setting (see :func:`training_processes`).
        name: Shown in the log line.
    """
    if rule not in LR_SCALING_RULES:
        raise ValueError(f"scale_lr must be one of {LR_SCALING_RULES}, got {rule!r}")
    processes = training_processes(cpu)
    if rule == "none" or processes == 1:
        return lr
    logger.info(
        "%s: %d processes: learning rate %g x %d = %g (scale_lr: linear)",
        name, processes, lr, processes, lr * processes,
    )  # fmt: skip
    return lr * processes
