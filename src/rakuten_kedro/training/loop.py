"""One train / evaluate / predict loop for every network (text, image, fusion), on `accelerate`.

The model code never names a device, a precision or a number of GPUs: ``fit`` and ``predict``
build an :class:`accelerate.Accelerator` from a :class:`TrainConfig` and let it place the
model and batches (CPU, one GPU, several GPUs under ``accelerate launch``), run mixed precision
and accumulate gradients. Models differ only through two small callables:

- ``loss_fn(model, batch) -> scalar tensor`` (the DCL image model returns its sum of three
  losses here),
- ``logits_fn(model, batch) -> [B, C] tensor`` (used for validation and prediction),

and batches are dicts whose ``"labels"`` entry holds the target label indices.

Every epoch ends with a validation macro-F1, the best epoch's weights are kept (and returned),
training stops early after ``patience`` epochs without improvement, and the whole state is
checkpointed to ``TrainConfig.checkpoint_dir`` so that running again resumes where it stopped.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState, PartialState
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from rakuten_kedro.distributed import world_size
from rakuten_kedro.training.checkpoint import (
    checkpoint_path,
    cpu_state_dict,
    load_checkpoint,
    save_checkpoint,
)
from rakuten_kedro.training.metrics import macro_f1

logger = logging.getLogger(__name__)

Batch = Mapping[str, Any]
LossFn = Callable[[torch.nn.Module, Batch], torch.Tensor]
LogitsFn = Callable[[torch.nn.Module, Batch], torch.Tensor]
FeaturesFn = Callable[[torch.nn.Module, Batch], Any]

_MIXED_PRECISION = ("no", "fp16", "bf16", "auto")
#: ``torch.compile`` backend of :attr:`TrainConfig.compile`.
COMPILE_BACKEND = "inductor"
#: Steps between progress-bar loss updates (each update waits for the device).
_POSTFIX_EVERY = 10


@dataclass
class TrainConfig:
    """How to train; the model, data, optimizer and loss are passed to :func:`fit` separately.

    Attributes:
        epochs: Maximum number of epochs.
        gradient_accumulation_steps: Batches per optimizer step (effective batch =
            batch size × this × number of processes).
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"`` (bf16 on GPUs that
            support it, else fp16 on GPU, none on CPU).
        patience: Stop after this many epochs without a better validation macro-F1
            (``None`` or 0: never stop early).
        seed: Seed for weights, shuffling and dropout; epoch ``e`` reseeds with ``seed + e`` so
            a resumed run sees the same batches as an uninterrupted one.
        checkpoint_dir: Folder for the per-epoch checkpoint (``None``: no checkpoint, no
            resume).
        cpu: Force the CPU even when a GPU is present.
        max_grad_norm: Clip the gradient norm to this value (``None``: no clipping).
        progress: Show a tqdm progress bar (only on a terminal).
        fingerprint: Identifies the settings a checkpoint was made with (e.g. a hash of the
            parameters); a checkpoint with another fingerprint is ignored, not resumed.
        name: Shown in the progress bar and log lines (e.g. the variant name).
        compile: Compile the model with ``torch.compile`` (:data:`COMPILE_BACKEND`): a minute
            or more of compilation, then faster steps; worth it for long GPU runs, not for the
            CPU demo. Checkpoints and saved models are the plain module's either way.
    """

    epochs: int = 3
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    patience: int | None = None
    seed: int = 2020
    checkpoint_dir: str | Path | None = None
    cpu: bool = False
    max_grad_norm: float | None = 1.0
    progress: bool = True
    fingerprint: str = ""
    name: str = "train"
    compile: bool = False

    def __post_init__(self) -> None:
        if self.mixed_precision not in _MIXED_PRECISION:
            raise ValueError(
                f"mixed_precision must be one of {_MIXED_PRECISION}, got {self.mixed_precision!r}"
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
    """

    model: torch.nn.Module
    best_epoch: int
    best_score: float
    history: list[dict[str, float]] = field(default_factory=list)


def resolve_mixed_precision(mixed_precision: str, cpu: bool = False) -> str:
    """Turns ``"auto"`` into what the device supports (bf16 > fp16 on GPU, none on CPU).

    Not bf16 on the CPU, even where it is native (AVX512-BF16, AMX): on the demo it saved 6 %
    of the run and moved some fusion scores by 3 points; ask for it with ``"bf16"``.

    Args:
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"``.
        cpu: Whether the CPU is forced.

    Returns:
        ``"no"``, ``"fp16"`` or ``"bf16"``.
    """
    if mixed_precision != "auto":
        return mixed_precision
    if cpu or not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def make_accelerator(
    mixed_precision: str = "no",
    gradient_accumulation_steps: int = 1,
    cpu: bool = False,
    compile: bool = False,
) -> Accelerator:
    """Builds an ``Accelerator``, even when another one with other settings exists.

    accelerate keeps its settings in process-wide singletons and refuses a second
    ``Accelerator`` with another precision; one Kedro run trains several models with different
    settings, so the per-run part of that state is reset first (the process group is kept).

    Under a multi-process launch (``WORLD_SIZE`` > 1) on a machine without a CUDA GPU, the CPU
    is used with the gloo backend: otherwise accelerate would let every process train alone on
    all the data. DDP is told that some parameters may get no gradient (the encoder's pooler
    when the text model pools by mean), which it otherwise rejects at the second step.

    Args:
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"``.
        gradient_accumulation_steps: Batches per optimizer step.
        cpu: Force the CPU.
        compile: ``torch.compile`` the model when it is prepared (:data:`COMPILE_BACKEND`).

    Returns:
        A fresh ``Accelerator``.
    """
    AcceleratorState._reset_state()
    GradientState._reset_state()
    if not PartialState._shared_state or not PartialState().use_distributed:
        # A single-process state keeps the device of the first Accelerator (e.g. the CPU after a
        # cpu=True run); rebuild it so that each call gets the device it asks for. Under
        # `accelerate launch` the process group must stay, and it already fixes the device.
        PartialState._reset_state()
        if world_size() > 1 and not torch.cuda.is_available():
            cpu = True
    return Accelerator(
        mixed_precision=resolve_mixed_precision(mixed_precision, cpu),
        gradient_accumulation_steps=gradient_accumulation_steps,
        cpu=cpu,
        dynamo_backend=COMPILE_BACKEND if compile else "no",
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def _release(accelerator: Accelerator, model: torch.nn.Module) -> torch.nn.Module:
    """The plain module behind a prepared one, without accelerate's autocast wrapper or
    "already prepared" mark, so a later ``fit``/``predict`` can prepare it afresh."""
    plain = accelerator.unwrap_model(model, keep_fp32_wrapper=False, keep_torch_compile=False)
    for module in {id(model): model, id(plain): plain}.values():
        module.__dict__.pop("_is_accelerate_prepared", None)
    return plain


def _bar_disabled(accelerator: Accelerator, progress: bool) -> bool | None:
    # None lets tqdm hide itself when stderr is not a terminal (logs, CI); one bar per machine.
    return None if progress and accelerator.is_local_main_process else True


def _state_dict(obj: Any) -> dict | None:
    return None if obj is None else obj.state_dict()


def _batch_size(batch: Batch) -> int:
    if "labels" in batch:
        return len(batch["labels"])
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            return value.shape[0]
    return 0


def _set_epoch(loader: Any, epoch: int, seed: int) -> None:
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


def _evaluate(
    accelerator: Accelerator, model: torch.nn.Module, loader: Any, logits_fn: LogitsFn
) -> dict[str, float]:
    """Validation macro-F1 and accuracy of ``model`` on ``loader`` (all processes gathered)."""
    model.eval()
    preds, labels = [], []
    num_classes = 0
    with torch.inference_mode():
        for batch in loader:
            logits = logits_fn(model, batch)
            num_classes = logits.shape[-1]
            pred, label = accelerator.gather_for_metrics((logits.argmax(-1), batch["labels"]))
            preds.append(pred.cpu())
            labels.append(label.cpu())
    model.train()
    if not preds:
        return {"val_macro_f1": float("nan"), "val_accuracy": float("nan")}
    y_pred, y_true = torch.cat(preds).numpy(), torch.cat(labels).numpy()
    return {
        "val_macro_f1": macro_f1(y_true, y_pred, num_classes),
        "val_accuracy": float((y_pred == y_true).mean()),
    }


def _is_better(score: float, best: float) -> bool:
    if math.isnan(score):
        return math.isnan(best)
    return math.isnan(best) or score > best


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

    With ``config.checkpoint_dir`` set, the state is saved after every epoch and a run that
    finds a checkpoint there (made with the same ``config.fingerprint``) resumes after its last
    completed epoch; a finished run returns the best weights at once.

    Args:
        model: The network; its weights are updated in place.
        train_loader: Training batches (dicts with ``"labels"``).
        val_loader: Validation batches, scored each epoch (``None``: keep the last epoch).
        optimizer: Optimizer over ``model``'s parameters.
        scheduler: Learning-rate scheduler stepped once per optimizer step, or ``None``. Size
            it with :func:`optimizer_steps` on the unprepared ``train_loader``.
        loss_fn: ``loss_fn(model, batch)`` → scalar training loss.
        logits_fn: ``logits_fn(model, batch)`` → ``[B, C]`` class logits.
        config: Epochs, precision, accumulation, early stopping, seed, checkpoint folder.

    Returns:
        A :class:`FitResult` whose model holds the best epoch's weights.
    """
    set_seed(config.seed)
    accelerator = make_accelerator(
        config.mixed_precision, config.gradient_accumulation_steps, config.cpu, config.compile
    )
    prepared = accelerator.prepare(model, optimizer, train_loader, *filter(None, [scheduler]))
    model, optimizer, train_loader = prepared[:3]
    scheduler = prepared[3] if scheduler is not None else None
    if val_loader is not None:
        val_loader = accelerator.prepare(val_loader)
    unwrapped = accelerator.unwrap_model(model, keep_torch_compile=False)

    history: list[dict[str, float]] = []
    best_epoch, best_score, best_state = 0, float("nan"), None
    epochs_done, bad_epochs, finished = 0, 0, False

    state = load_checkpoint(config.checkpoint_dir)
    if state is not None and state.get("fingerprint") != config.fingerprint:
        logger.warning(
            "%s: ignoring checkpoint %s, made with other settings; starting over",
            config.name,
            checkpoint_path(config.checkpoint_dir),
        )
        state = None
    if state is not None:
        unwrapped.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.scheduler.load_state_dict(state["scheduler"])
        if accelerator.scaler is not None and state.get("scaler") is not None:
            accelerator.scaler.load_state_dict(state["scaler"])
        history = state["history"]
        best_epoch, best_score, best_state = (
            state["best_epoch"],
            state["best_score"],
            state["best_state"],
        )
        epochs_done, bad_epochs = state["epochs_done"], state["bad_epochs"]
        # Recomputed rather than read back, so that a larger patience continues an early stop.
        finished = bool(config.patience) and bad_epochs >= config.patience
        if finished or epochs_done >= config.epochs:
            logger.info(
                "%s: checkpoint %s is complete (%d epochs, best epoch %d, macro-F1 %.4f); "
                "not training again",
                config.name,
                checkpoint_path(config.checkpoint_dir),
                epochs_done,
                best_epoch,
                best_score,
            )
        else:
            logger.info(
                "%s: resuming from epoch %d (checkpoint %s)",
                config.name,
                epochs_done + 1,
                checkpoint_path(config.checkpoint_dir),
            )

    model.train()
    for epoch in range(epochs_done + 1, config.epochs + 1):
        if finished:
            break
        set_seed(config.seed + epoch)
        _set_epoch(train_loader, epoch, config.seed)
        started, seen, loss_count = time.perf_counter(), 0, 0
        # Summed on the device: reading it every step would wait for the GPU each time.
        loss_sum = torch.zeros((), device=accelerator.device)
        bar = tqdm(
            total=len(train_loader),
            desc=f"{config.name} epoch {epoch}/{config.epochs}",
            disable=_bar_disabled(accelerator, config.progress),
            leave=False,
            dynamic_ncols=True,
        )
        for batch in train_loader:
            with accelerator.accumulate(model):
                loss = loss_fn(model, batch)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                optimizer.zero_grad()
            loss_sum += loss.detach().float()
            loss_count += 1
            seen += _batch_size(batch) * accelerator.num_processes
            if not bar.disable and (loss_count % _POSTFIX_EVERY == 1 or _POSTFIX_EVERY == 1):
                elapsed = time.perf_counter() - started
                bar.set_postfix(
                    loss=f"{loss_sum.item() / loss_count:.4f}", samples_s=f"{seen / elapsed:.0f}"
                )
            bar.update()
        bar.close()
        seconds = time.perf_counter() - started
        if not loss_count:
            raise ValueError(f"{config.name}: the training data loader yielded no batches")
        train_loss = accelerator.reduce(loss_sum / loss_count, reduction="mean").item()
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "samples_per_s": seen / seconds,
            "seconds": seconds,
            "lr": optimizer.param_groups[0]["lr"],
        }
        if val_loader is not None:
            record.update(_evaluate(accelerator, model, val_loader, logits_fn))
        else:
            record.update({"val_macro_f1": float("nan"), "val_accuracy": float("nan")})
        history.append(record)

        score = record["val_macro_f1"]
        if val_loader is None or _is_better(score, best_score):
            best_epoch, best_score, best_state = epoch, score, cpu_state_dict(unwrapped)
            bad_epochs = 0
        else:
            bad_epochs += 1
        finished = bool(config.patience) and bad_epochs >= config.patience
        logger.info(
            "%s epoch %d/%d: train loss %.4f, val macro-F1 %.4f (best %.4f @ epoch %d), "
            "%.0f samples/s, %.1f s",
            config.name,
            epoch,
            config.epochs,
            record["train_loss"],
            score,
            best_score,
            best_epoch,
            record["samples_per_s"],
            seconds,
        )
        if finished:
            logger.info("%s: early stop, no better macro-F1 for %d epochs", config.name, bad_epochs)
        if config.checkpoint_dir is not None:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                save_checkpoint(
                    {
                        "fingerprint": config.fingerprint,
                        "config": asdict(config),
                        "model": cpu_state_dict(unwrapped),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": _state_dict(scheduler and scheduler.scheduler),
                        "scaler": _state_dict(accelerator.scaler),
                        "epochs_done": epoch,
                        "history": history,
                        "best_epoch": best_epoch,
                        "best_score": best_score,
                        "best_state": best_state,
                        "bad_epochs": bad_epochs,
                        "finished": finished or epoch == config.epochs,
                    },
                    config.checkpoint_dir,
                )
            accelerator.wait_for_everyone()

    if best_state is not None:
        unwrapped.load_state_dict(best_state)
    unwrapped = _release(accelerator, model)
    unwrapped.eval()
    return FitResult(model=unwrapped, best_epoch=best_epoch, best_score=best_score, history=history)


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
        cpu: Force the CPU.
        progress: Show a progress bar (only on a terminal).
        desc: Progress bar label.

    Returns:
        ``(probs, features)``: softmax probabilities ``[N, C]`` float32, and the features
        ``[N, D]`` float32 (``None`` without ``features_fn``).
    """
    accelerator = make_accelerator(mixed_precision, cpu=cpu)
    model = accelerator.prepare_model(model, evaluation_mode=True)
    loader = accelerator.prepare(loader)
    was_training = model.training
    model.eval()
    probs, features = [], []
    with torch.inference_mode(), accelerator.autocast():
        for batch in tqdm(
            loader,
            desc=desc,
            disable=_bar_disabled(accelerator, progress),
            leave=False,
            dynamic_ncols=True,
        ):
            feats = None
            if features_fn is not None:
                out = features_fn(model, batch)
                logits, feats = out if isinstance(out, tuple) else (logits_fn(model, batch), out)
            else:
                logits = logits_fn(model, batch)
            batch_probs = torch.softmax(logits.float(), dim=-1)
            if feats is None:
                probs.append(accelerator.gather_for_metrics(batch_probs).cpu())
            else:
                gathered = accelerator.gather_for_metrics((batch_probs, feats.float()))
                probs.append(gathered[0].cpu())
                features.append(gathered[1].cpu())
    _release(accelerator, model).train(was_training)
    probs_array = torch.cat(probs).numpy().astype(np.float32) if probs else np.zeros((0, 0))
    if features_fn is None:
        return probs_array, None
    return probs_array, torch.cat(features).numpy().astype(np.float32)


def optimizer_steps(train_loader: DataLoader, epochs: int, gradient_accumulation_steps: int) -> int:
    """Number of optimizer (and scheduler) steps ``fit`` will take, for sizing a scheduler.

    Args:
        train_loader: The training loader, before ``accelerate`` prepares it.
        epochs: Number of epochs.
        gradient_accumulation_steps: Batches per optimizer step.

    Returns:
        ``epochs × ceil(batches per epoch / accumulation)``.
    """
    return epochs * math.ceil(len(train_loader) / gradient_accumulation_steps)


def linear_warmup_decay(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float = 0.1
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_fraction`` of the steps, then linear decay to 0 (the paper's
    schedule for the text model).

    Args:
        optimizer: The optimizer whose learning rates are scaled.
        total_steps: Total optimizer steps (see :func:`optimizer_steps`).
        warmup_fraction: Share of the steps spent warming up.

    Returns:
        A ``LambdaLR`` scheduler to step once per optimizer step.
    """
    total_steps = max(1, total_steps)
    warmup = int(round(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
