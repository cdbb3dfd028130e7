"""The fusions' fold networks: a ``train_fold`` for ``cross_validate`` that trains small torch
networks over in-memory arrays with the project's one training loop (``rakuten_kedro.training``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rakuten_kedro.config import FeatureFusion, FusionTraining, learned_settings
from rakuten_kedro.fingerprint import Fingerprint, digest
from rakuten_kedro.training.cross_validation import TrainFold
from rakuten_kedro.training.loop import TrainConfig, fit, predict


class ArrayBatches(Dataset):
    """Dict batches over in-memory arrays, fetched a whole batch at a time.

    The fusion inputs are small dense arrays; indexing them once per batch (``__getitems__``)
    instead of once per row keeps 8 folds × 40 epochs to a fraction of a second per fold.

    Args:
        arrays: Named ``(N, …)`` arrays; ``labels`` (int) is the target when present.
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.tensors = {
            name: torch.as_tensor(
                np.asarray(array), dtype=torch.long if name == "labels" else torch.float32
            )
            for name, array in arrays.items()
        }
        self.length = len(next(iter(self.tensors.values())))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: tensor[index] for name, tensor in self.tensors.items()}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return {name: tensor[index] for name, tensor in self.tensors.items()}


def _whole_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Collate for ``ArrayBatches``: its ``__getitems__`` already returns the batch."""
    return batch


def array_loader(
    arrays: dict[str, np.ndarray], batch_size: int, shuffle: bool, seed: int = 0
) -> DataLoader:
    """A ``DataLoader`` of dict batches over ``arrays`` (``batch_size`` 0: one full batch).

    Args:
        arrays: Named ``(N, …)`` arrays.
        batch_size: Rows per batch; 0 or less puts all rows in one batch.
        shuffle: Shuffle the rows every epoch.
        seed: Seed of the shuffle.

    Returns:
        The loader.
    """
    dataset = ArrayBatches(arrays)
    size = len(dataset) if batch_size <= 0 else batch_size
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(
        dataset,
        batch_size=max(1, size),
        shuffle=shuffle,
        generator=generator,
        collate_fn=_whole_batch,
    )


@contextlib.contextmanager
def quiet_epoch_logs() -> Iterator[None]:
    """Silences the loop's per-epoch and per-checkpoint INFO lines: K folds × 40 epochs would
    flood the run log (``cross_validate`` logs one line per fusion instead)."""
    loggers = [
        logging.getLogger(f"rakuten_kedro.training.{name}") for name in ("loop", "checkpoint")
    ]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(max(log.level, logging.WARNING))
    try:
        yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


@contextlib.contextmanager
def tiny_model_threads(enabled: bool = True) -> Iterator[None]:
    """Runs torch on one CPU thread: a 54→6→27 network's ops are too small to share between
    threads, and on a busy machine the threads' synchronisation made training ~5× slower."""
    threads = torch.get_num_threads()
    if enabled:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class TorchFoldModel:
    """A fold network trained by ``fit``, predicting through ``predict``.

    Attributes:
        model: The network (best epoch's weights).
        input_names: Batch keys of the model's inputs, in ``inputs`` order.
        best_epoch: Epoch kept.
        best_score: Macro-F1 of that epoch on the selection rows.
        history: ``fit``'s per-epoch records.
        cpu: Force the CPU when predicting.
    """

    model: torch.nn.Module
    input_names: tuple[str, ...]
    best_epoch: int
    best_score: float
    history: list[dict[str, float]]
    cpu: bool = True
    reused: bool = False

    def predict_proba(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, C)`` softmax probabilities for the rows of ``inputs``."""
        loader = array_loader(dict(zip(self.input_names, inputs, strict=True)), 4096, False)
        with tiny_model_threads(self.cpu):
            probs, _ = predict(
                self.model,
                loader,
                logits_fn=_logits_fn(self.input_names),
                cpu=self.cpu,
                progress=False,
            )
        return probs


def _logits_fn(input_names: tuple[str, ...]) -> Callable[[torch.nn.Module, dict], torch.Tensor]:
    def logits_fn(model: torch.nn.Module, batch: dict) -> torch.Tensor:
        return model(*(batch[name] for name in input_names))

    return logits_fn


def make_torch_train_fold(
    build_model: Callable[[Sequence[np.ndarray]], torch.nn.Module],
    input_names: Sequence[str],
    *,
    training: FusionTraining | FeatureFusion,
    name: str,
    checkpoint_dir: str | Path | None = None,
) -> TrainFold:
    """A ``train_fold`` that trains a fresh network per fold with Adam and the shared loop.

    Each fold keeps its epoch with the best macro-F1 on its selection rows (``fit`` does that).

    Args:
        build_model: ``build_model(train_inputs)`` returns a new, untrained network taking
            the inputs in order (the training inputs let it fix input statistics).
        input_names: One batch key per input array (e.g. ``("text", "image")``).
        training: Epochs, Adam learning rate and weight decay, batch size (0: full batch),
            base seed (fold ``k`` uses ``seed + k``), and whether to train on the CPU (the
            networks are tiny: a GPU only adds transfer overhead).
        name: Label for logs.
        checkpoint_dir: Fold ``k``'s finished network is kept in ``checkpoint_dir/fold{k}``
            and reused by a rerun on the same inputs and settings (``None``: never kept).

    Returns:
        The ``train_fold`` callable for ``cross_validate``.
    """
    input_names = tuple(input_names)
    logits_fn = _logits_fn(input_names)

    def loss_fn(model: torch.nn.Module, batch: dict) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(logits_fn(model, batch), batch["labels"])

    def train_fold(
        train_inputs: Sequence[np.ndarray],
        train_labels: np.ndarray,
        select_inputs: Sequence[np.ndarray],
        select_labels: np.ndarray,
        fold: int,
    ) -> TorchFoldModel:
        seed = training.seed + fold
        torch.manual_seed(seed)
        model = build_model(train_inputs)
        train_loader = array_loader(
            {**dict(zip(input_names, train_inputs, strict=True)), "labels": train_labels},
            training.batch_size,
            shuffle=True,
            seed=seed,
        )
        select_loader = array_loader(
            {**dict(zip(input_names, select_inputs, strict=True)), "labels": select_labels},
            4096,
            shuffle=False,
        )
        optimizer = torch.optim.Adam(
            model.parameters(), lr=training.lr, weight_decay=training.weight_decay
        )
        config = TrainConfig(
            epochs=training.epochs,
            seed=seed,
            cpu=training.cpu,
            progress=False,
            max_grad_norm=None,
            name=f"{name} fold {fold}",
            checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir) / f"fold{fold}",
            checkpoint_every_epoch=False,  # a fold trains in about a second
            fingerprint=Fingerprint.of(
                settings={**learned_settings(training), "seed": seed},
                training_rows=digest(*train_inputs, np.asarray(train_labels, np.int64)),
                selection_rows=digest(*select_inputs, np.asarray(select_labels, np.int64)),
            ),
        )
        with quiet_epoch_logs(), tiny_model_threads(training.cpu):
            result = fit(
                model,
                train_loader,
                select_loader,
                optimizer=optimizer,
                scheduler=None,
                loss_fn=loss_fn,
                logits_fn=logits_fn,
                config=config,
            )
        return TorchFoldModel(
            model=result.model,
            input_names=input_names,
            best_epoch=result.best_epoch,
            best_score=result.best_score,
            history=result.history,
            cpu=training.cpu,
            reused=result.reused,
        )

    return train_fold
