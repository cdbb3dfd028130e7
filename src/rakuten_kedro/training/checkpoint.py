"""Training state, its atomic checkpoint file, and the decision to resume, reuse or start over.

A checkpoint is one file holding tensors and plain values only (weights, optimizer and
scheduler state, the per-epoch history, the best weights so far, and the fingerprint of the
settings and data it was trained from), loaded with ``torch.load(weights_only=True)``: a
crafted file cannot run code. It is written to a temporary file in the same folder and renamed
over the old one, so a run killed mid-write leaves the previous checkpoint intact. When a
training finishes, its checkpoint is compacted to the best weights and the history: enough to
reuse the result, a third of the size of a resumable state.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from rakuten_kedro.atomic import atomic_folder, atomic_path
from rakuten_kedro.distributed import process_rank
from rakuten_kedro.fingerprint import Fingerprint

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
#: Beside a result kept by :func:`reuse_or_build`: what it was made from.
FINGERPRINT_FILE = "fingerprint.json"
Result = TypeVar("Result")


def checkpoint_path(checkpoint_dir: str | os.PathLike) -> Path:
    """Returns the checkpoint file inside ``checkpoint_dir``."""
    return Path(checkpoint_dir) / CHECKPOINT_NAME


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a module's weights (safe to keep while training goes on)."""
    return {name: t.detach().to("cpu", copy=True) for name, t in module.state_dict().items()}


@dataclass
class TrainState:
    """Where a training stands after its last completed epoch (plain values only)."""

    epochs_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("nan")
    bad_epochs: int = 0

    def record(self, epoch_record: dict[str, float], improved: bool) -> None:
        """Adds one epoch's record; counts epochs without improvement."""
        self.history.append(epoch_record)
        self.epochs_done = int(epoch_record["epoch"])
        if improved:
            self.best_epoch, self.best_score = self.epochs_done, epoch_record["val_macro_f1"]
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1

    def is_better(self, score: float) -> bool:
        """Whether ``score`` beats the best so far (any score beats none; NaN only NaN)."""
        if math.isnan(score):
            return math.isnan(self.best_score)
        return math.isnan(self.best_score) or score > self.best_score

    def stopped_early(self, patience: int | None) -> bool:
        """Whether ``patience`` epochs went by without a better validation score."""
        return bool(patience) and self.bad_epochs >= patience

    def finished(self, epochs: int, patience: int | None) -> bool:
        """Whether training is over: all epochs done, or stopped early."""
        return self.epochs_done >= epochs or self.stopped_early(patience)


def save_checkpoint(state: dict[str, Any], checkpoint_dir: str | os.PathLike) -> Path:
    """Writes ``state`` atomically (and durably) to ``checkpoint_dir/checkpoint.pt``.

    Args:
        state: Tensors and plain values (dicts, lists, numbers, strings).
        checkpoint_dir: Folder to write into; created when missing.

    Returns:
        The path of the checkpoint file.
    """
    path = checkpoint_path(checkpoint_dir)
    with atomic_path(path) as temp, temp.open("wb") as handle:
        try:
            torch.save(state, handle)
        except RuntimeError as error:  # torch.save's own writer fails this way (full disk…)
            raise RuntimeError(f"cannot write {path}: {error}") from error
        handle.flush()
        os.fsync(handle.fileno())
    return path


def load_checkpoint(checkpoint_dir: str | os.PathLike | None) -> dict[str, Any] | None:
    """Reads the checkpoint in ``checkpoint_dir``, or ``None`` when there is none.

    Only tensors and plain values are accepted (``weights_only=True``): a file that holds
    anything else — code included — is refused with an error, never executed.

    Args:
        checkpoint_dir: Folder given to :func:`save_checkpoint` (``None``: no checkpointing).

    Returns:
        The saved state, tensors on the CPU, or ``None``.
    """
    if checkpoint_dir is None:
        return None
    path = checkpoint_path(checkpoint_dir)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _refused_object(error)
        if refused is None:
            raise _unreadable(path, error) from error
        raise RuntimeError(
            f"Refusing to load the training checkpoint {path}: it holds more than tensors and "
            f"plain values ({refused}), so it was not written by this project's training loop. "
            "Nothing in it was run. Delete it to start the training over."
        ) from error
    except Exception as error:
        raise _unreadable(path, error) from error


def _refused_object(error: pickle.UnpicklingError) -> str | None:
    """The line of torch's weights-only refusal naming the object it would not load."""
    lines = [line for line in str(error).splitlines() if "GLOBAL" in line or "global" in line]
    return lines[0].strip() if lines else None


def _unreadable(path: Path, error: Exception) -> RuntimeError:
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return RuntimeError(
        f"Could not read the training checkpoint {path} ({first_line}). Delete it to start the "
        "training over."
    )


def resume_point(
    checkpoint_dir: str | os.PathLike | None, fingerprint: Fingerprint, name: str
) -> dict[str, Any] | None:
    """The checkpoint to continue from, or ``None`` to start over (saying why in the log).

    A checkpoint made from other settings or other data is never resumed: the log names what
    changed ("training text changed since the checkpoint").

    Args:
        checkpoint_dir: The training's checkpoint folder (``None``: no checkpointing).
        fingerprint: What this training is made from.
        name: The training's name, for the log.

    Returns:
        The checkpoint, or ``None``.
    """
    saved = load_checkpoint(checkpoint_dir)
    if saved is None:
        return None
    if not fingerprint.matches(saved.get("fingerprint")):
        logger.info(
            "%s: training again: %s since the checkpoint %s",
            name,
            fingerprint.changes_since(saved.get("fingerprint")),
            checkpoint_path(checkpoint_dir),
        )
        return None
    return saved


def train_state(saved: dict[str, Any] | None) -> TrainState:
    """The :class:`TrainState` stored in a checkpoint (a fresh one without checkpoint)."""
    return TrainState(**saved["state"]) if saved is not None else TrainState()


def training_checkpoint(  # noqa: PLR0913 - one field per part of the training state
    *,
    fingerprint: Fingerprint,
    state: TrainState,
    model: torch.nn.Module,
    best_state: dict[str, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
) -> dict[str, Any]:
    """Everything needed to continue a training after its last epoch, as plain values."""
    return {
        "fingerprint": fingerprint.as_dict(),
        "state": asdict(state),
        "model": cpu_state_dict(model),
        "best_state": best_state,
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
    }


def finished_checkpoint(
    fingerprint: Fingerprint, state: TrainState, best_state: dict[str, torch.Tensor]
) -> dict[str, Any]:
    """A finished training, compacted: its best weights and history, enough to reuse it."""
    return {
        "fingerprint": fingerprint.as_dict(),
        "state": asdict(state),
        "best_state": best_state,
        "finished": True,
    }


def finished_checkpoints(root: str | os.PathLike) -> list[Path]:
    """The checkpoint files under ``root`` whose training has finished.

    Each file is memory-mapped, not read: only its ``finished`` flag is looked at. A file
    that cannot be read is not reported: its training says what is wrong when it runs.
    """
    finished = []
    for path in sorted(Path(root).rglob(CHECKPOINT_NAME)):
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001, S112 - left to the training that reads it
            continue
        if isinstance(saved, dict) and saved.get("finished"):
            finished.append(path)
    return finished


def reuse_or_build(  # noqa: PLR0913 - the result's whole life cycle, in one call
    folder: Path | None,
    fingerprint: Fingerprint,
    *,
    build: Callable[[], Result],
    save: Callable[[Result, Path], None],
    load: Callable[[Path], Result],
    what: str,
) -> Result:
    """A result kept in ``folder`` when it was made from ``fingerprint``; else a new one.

    For results that are not trained by the loop (a tokenizer, the TF-IDF model): the folder
    holds the result (written by ``save``) and its :data:`FINGERPRINT_FILE`, swapped in
    atomically by process rank 0 only.

    Args:
        folder: Where the result is kept (``None``: always build, keep nothing).
        fingerprint: What the result is made from.
        build: Makes the result.
        save: ``save(result, folder)`` writes it into an existing folder.
        load: ``load(folder)`` reads it back.
        what: Its name in log lines.

    Returns:
        The reused or new result.
    """
    stored = _read_fingerprint(folder)
    if stored is not None:
        if fingerprint.matches(stored):
            logger.info("%s: reusing %s (same settings and data)", what, folder)
            return load(folder)
        logger.info(
            "%s: building again: %s since %s", what, fingerprint.changes_since(stored), folder
        )
    result = build()
    if folder is not None and process_rank() == 0:
        with atomic_folder(folder) as temp:
            save(result, temp)
            (temp / FINGERPRINT_FILE).write_text(json.dumps(fingerprint.as_dict()), "utf-8")
    return result


def _read_fingerprint(folder: Path | None) -> dict[str, Any] | None:
    if folder is None:
        return None
    try:
        return json.loads((folder / FINGERPRINT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
