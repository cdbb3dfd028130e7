"""Stratified K-fold assignment and the per-fold split of rows used by every fusion model.

Fusion models are trained on the validation split, so their honest score must be out-of-fold:
each row is predicted by a network that never trained on it. Each fold network also needs rows
to pick its best epoch on; with ``epoch_selection="inner"`` those are another fold (never the
rows it will predict), with ``"held_out"`` they are the predicted fold itself, as in the paper
(slightly optimistic: the epoch is chosen on the rows being scored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPOCH_SELECTION_MODES = ("inner", "held_out")


def assign_folds(labels: np.ndarray, num_folds: int, seed: int) -> np.ndarray:
    """Assigns every row to one of ``num_folds`` folds, stratified by label.

    Rows are shuffled within each class, laid out class after class, and dealt to folds in
    turn, so every fold gets a near-equal share of every class and fold sizes differ by at most
    one row. Unlike scikit-learn's ``StratifiedKFold`` it accepts classes with fewer rows than
    folds (the demo's validation split has such classes).

    Args:
        labels: ``(N,)`` integer labels.
        num_folds: Number of folds, at least 2 and at most ``N``.
        seed: Seed of the shuffle.

    Returns:
        ``(N,)`` int64 fold index in ``0..num_folds-1`` of every row.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if not 2 <= num_folds <= len(labels):
        raise ValueError(
            f"num_folds must be between 2 and the number of rows ({len(labels)}), got {num_folds}"
        )
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    )
    folds = np.empty(len(labels), dtype=np.int64)
    # A random start keeps the smallest classes from always landing in fold 0.
    folds[order] = (np.arange(len(order)) + rng.integers(num_folds)) % num_folds
    return folds


@dataclass(frozen=True)
class FoldSplit:
    """Row indices of one fold: what its network trains on, selects its epoch on, predicts."""

    fold: int
    train: np.ndarray
    select: np.ndarray
    predict: np.ndarray


def fold_splits(folds: np.ndarray, epoch_selection: str = "inner") -> list[FoldSplit]:
    """Splits the rows for each fold network.

    Args:
        folds: ``(N,)`` fold index of every row, from ``assign_folds``.
        epoch_selection: ``"inner"``: fold ``k`` trains on the other folds except fold
            ``k+1 mod K``, on which it picks its best epoch; ``"held_out"``: it trains on all other
            folds and picks its epoch on fold ``k`` (the paper's protocol).

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
            select = predict
            train = np.flatnonzero(folds != fold)
        splits.append(FoldSplit(fold=fold, train=train, select=select, predict=predict))
    return splits
