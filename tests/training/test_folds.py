"""Fold assignment and per-fold splits: stratified, balanced, and never predicting seen rows."""

from __future__ import annotations

import numpy as np
import pytest

from rakuten_kedro.training.folds import assign_folds, fold_splits


def test_assign_folds_is_stratified_balanced_and_deterministic():
    labels = np.repeat(np.arange(5), [40, 17, 9, 3, 1])
    folds = assign_folds(labels, 8, seed=1)
    assert folds.shape == labels.shape and set(folds) <= set(range(8))
    sizes = np.bincount(folds, minlength=8)
    assert sizes.max() - sizes.min() <= 1
    for label in range(5):
        per_fold = np.bincount(folds[labels == label], minlength=8)
        assert per_fold.max() - per_fold.min() <= 1  # each class spread evenly
    assert np.array_equal(folds, assign_folds(labels, 8, seed=1))
    assert not np.array_equal(folds, assign_folds(labels, 8, seed=2))


def test_assign_folds_rejects_impossible_fold_counts():
    with pytest.raises(ValueError, match="between 2 and the number of rows"):
        assign_folds(np.zeros(5, dtype=int), 8, seed=0)


@pytest.mark.parametrize("selection", ["inner", "held_out", "given"])
def test_fold_splits_never_train_on_the_predicted_rows(selection):
    folds = assign_folds(np.arange(80) % 4, 8, seed=0)
    splits = fold_splits(folds, selection)
    predicted = np.concatenate([split.predict for split in splits])
    assert np.array_equal(np.sort(predicted), np.arange(80))  # every row exactly once
    for split in splits:
        assert not set(split.train) & set(split.predict)
        assert (
            len(split.train)
            + len(split.predict)
            + (len(split.select) if selection == "inner" else 0)
            == 80
        )
        if selection == "inner":
            assert not set(split.select) & set(split.predict)
            assert not set(split.select) & set(split.train)
        elif selection == "held_out":
            assert np.array_equal(split.select, split.predict)
        else:
            assert len(split.select) == 0  # the epoch is picked on rows outside the folds


def test_fold_splits_checks_its_arguments():
    with pytest.raises(ValueError, match="epoch_selection"):
        fold_splits(np.array([0, 1, 2]), "nope")
    with pytest.raises(ValueError, match="at least 3 folds"):
        fold_splits(np.array([0, 1, 0, 1]), "inner")
