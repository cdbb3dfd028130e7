"""Stratified K-fold assignment and the per-fold split of rows, for every out-of-fold model.

A model trained on the rows it must score needs out-of-fold predictions: each row is predicted
by a model that never trained on it (the fusions on the validation split, denoising on the
training split). Each fold model also needs rows to pick its best epoch on: with
``epoch_selection="inner"`` those are another fold (never the rows it will predict), with
``"held_out"`` they are the predicted fold itself, as in the paper (slightly optimistic: the
epoch is chosen on the rows being scored), with ``"given"`` they are rows outside the folds
(denoising picks its epochs on the validation split).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

EPOCH_SELECTION_MODES = ("inner", "held_out", "given")


def assign_folds(
    labels: np.ndarray,
    num_folds: int,
    seed: int,
    *,
    codes: Sequence[int] | None = None,
    rows: str = "rows",
    setting: str = "num_folds",
) -> np.ndarray:
    """Assigns every row to one of ``num_folds`` folds, stratified by label.

    Rows are shuffled within each class, laid out class after class, and dealt to folds in
    turn, so every fold gets a near-equal share of every class and fold sizes differ by at most
    one row. Unlike scikit-learn's ``StratifiedKFold`` it accepts classes with fewer rows than
    folds (the demo's validation split has such classes), with a warning naming them: their
    rows land in as many folds as they have rows, so some fold models never see them and their
    out-of-fold probabilities are less reliable.

    Args:
        labels: ``(N,)`` integer labels.
        num_folds: Number of folds, at least 2 and at most ``N``.
        seed: Seed of the shuffle.
        codes: Product type codes in label order, to name small classes by code (``None``:
            by label).
        rows: What the rows are, for messages (e.g. ``"training rows"``).
        setting: The parameter that sets ``num_folds``, for messages (e.g. ``"denoising.folds"``).

    Returns:
        ``(N,)`` int64 fold index in ``0..num_folds-1`` of every row.

    Raises:
        ValueError: When there are fewer than 2 folds or fewer rows than folds, or every class
            has fewer rows than folds.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if not 2 <= num_folds <= len(labels):
        raise ValueError(
            f"cannot split {len(labels)} {rows} into {num_folds} folds: {setting} must be "
            f"between 2 and the number of rows ({len(labels)})"
        )
    _check_class_sizes(labels, num_folds, codes, rows, setting)
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    )
    folds = np.empty(len(labels), dtype=np.int64)
    # A random start keeps the smallest classes from always landing in fold 0.
    folds[order] = (np.arange(len(order)) + rng.integers(num_folds)) % num_folds
    return folds


def _check_class_sizes(
    labels: np.ndarray, num_folds: int, codes: Sequence[int] | None, rows: str, setting: str
) -> None:
    """Warns about the classes with fewer rows than folds; refuses when every class is one."""
    values, counts = np.unique(labels, return_counts=True)
    names = values if codes is None else np.asarray(codes)[values]
    small = {
        int(name): int(count)
        for name, count in zip(names, counts, strict=True)
        if count < num_folds
    }
    what = "label" if codes is None else "code"
    if len(small) == len(values):
        raise ValueError(
            f"every {what} has fewer {rows} than the {num_folds} folds ({small}): lower the "
            f"number of folds ({setting})"
        )
    if small:
        logger.warning(
            "%s(s) %s have fewer %s than the %d folds (%s; rows: %s); some fold models never "
            "see them and their out-of-fold probabilities are less reliable",
            what, sorted(small), rows, num_folds, setting, small,
        )  # fmt: skip


@dataclass(frozen=True)
class FoldSplit:
    """Row indices of one fold: what its model trains on, selects its epoch on, predicts."""

    fold: int
    train: np.ndarray
    select: np.ndarray
    predict: np.ndarray


def fold_splits(folds: np.ndarray, epoch_selection: str = "inner") -> list[FoldSplit]:
    """Splits the rows for each fold model.

    Args:
        folds: ``(N,)`` fold index of every row, from ``assign_folds``.
        epoch_selection: ``"inner"``: fold ``k`` trains on the other folds except fold
            ``k+1 mod K``, on which it picks its best epoch; ``"held_out"``: it trains on all other
            folds and picks its epoch on fold ``k`` (the paper's protocol); ``"given"``: it
            trains on all other folds and its ``select`` is empty (the epoch is picked on rows
            outside ``folds``, given to ``cross_validate``).

    Returns:
        One ``FoldSplit`` per fold, in fold order.
    """
    if epoch_selection not in EPOCH_SELECTION_MODES:
        raise ValueError(
            f"epoch_selection must be one of {EPOCH_SELECTION_MODES}, got {epoch_selection!r}"
        )
    folds = np.asarray(folds)
    num_folds = int(folds.max()) + 1
    if epoch_selection == "inner" and num_folds < 3:
        raise ValueError("epoch_selection='inner' needs at least 3 folds (train, select, predict)")
    splits = []
    for fold in range(num_folds):
        predict = np.flatnonzero(folds == fold)
        if epoch_selection == "inner":
            select_fold = (fold + 1) % num_folds
            select = np.flatnonzero(folds == select_fold)
            train = np.flatnonzero((folds != fold) & (folds != select_fold))
        else:
            select = predict if epoch_selection == "held_out" else np.empty(0, dtype=np.int64)
            train = np.flatnonzero(folds != fold)
        splits.append(FoldSplit(fold=fold, train=train, select=select, predict=predict))
    return splits
