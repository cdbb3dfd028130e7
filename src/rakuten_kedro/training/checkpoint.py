"""Atomic training checkpoints, so an interrupted run resumes where it stopped.

A checkpoint is one file holding everything needed to continue (model, optimizer, scheduler,
gradient scaler, epochs done, history, best weights so far). It is written to a temporary file
in the same folder and then renamed over the old one: a run killed mid-write leaves the previous
checkpoint intact, never a truncated one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from rakuten_kedro.atomic import cannot_write

CHECKPOINT_NAME = "checkpoint.pt"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def checkpoint_path(checkpoint_dir: str | os.PathLike) -> Path:
    """Returns the checkpoint file inside ``checkpoint_dir``."""
    return Path(checkpoint_dir) / CHECKPOINT_NAME


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a module's weights (safe to keep while training goes on)."""
    return {name: t.detach().to("cpu", copy=True) for name, t in module.state_dict().items()}


def save_checkpoint(state: dict[str, Any], checkpoint_dir: str | os.PathLike) -> Path:
    """Writes ``state`` atomically to ``checkpoint_dir/checkpoint.pt``.

    Args:
        state: Picklable training state (tensors, dicts, numbers).
        checkpoint_dir: Folder to write into; created when missing.

    Returns:
        The path of the checkpoint file.
    """
    path = checkpoint_path(checkpoint_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise cannot_write(path, error) from error
    try:
        with os.fdopen(fd, "wb") as tmp_file:
            torch.save(state, tmp_file)
            tmp_file.flush()
            os.fsync(tmp_file.fileno())
        # mkstemp creates the file private (0600); give it the permissions of a normal file.
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, path)
    except BaseException as error:
        Path(tmp_name).unlink(missing_ok=True)
        # A full disk, a read-only folder: say which file (the old checkpoint is kept).
        if isinstance(error, OSError):
            raise cannot_write(path, error) from error
        if isinstance(error, RuntimeError):  # torch.save's own writer fails this way
            raise RuntimeError(f"cannot write {path}: {error}") from error
        raise
    return path


def load_checkpoint(checkpoint_dir: str | os.PathLike | None) -> dict[str, Any] | None:
    """Reads the checkpoint in ``checkpoint_dir``, or ``None`` when there is none.

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
        # Our own file: it holds optimizer/scheduler state and RNG states, not only tensors.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise RuntimeError(
            f"Could not read the training checkpoint {path} ({exc}). Delete it to start the "
            "training over."
        ) from exc
