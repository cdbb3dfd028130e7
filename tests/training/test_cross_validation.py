"""Out-of-fold scoring never sees its own rows, whichever rows pick the epochs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from rakuten_kedro.training.cross_validation import cross_validate
from rakuten_kedro.training.folds import assign_folds


@dataclass
class Memorizer:
    """1-nearest-neighbour: perfect on rows it has seen, chance on random labels it has not."""

    inputs: np.ndarray
    labels: np.ndarray
    num_classes: int
    best_epoch: int = 0
    best_score: float = float("nan")

    def predict_proba(self, inputs):
        distances = ((inputs[0][:, None, :] - self.inputs[None]) ** 2).sum(axis=2)
        probs = np.zeros((len(inputs[0]), self.num_classes), dtype=np.float32)
        probs[np.arange(len(probs)), self.labels[distances.argmin(axis=1)]] = 1.0
        return probs


@pytest.mark.parametrize("selection", ["inner", "held_out"])
def test_out_of_fold_rows_are_predicted_by_models_that_never_trained_on_them(selection):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(400, 5)).astype(np.float32)
    labels = rng.integers(0, 10, 400)  # random labels: only memorisation could "predict" them
    folds = assign_folds(labels, 8, seed=0)
    seen_ids = []

    def train_fold(train_inputs, train_labels, select_inputs, select_labels, fold):
        seen_ids.append((fold, train_inputs[0][:, 0].copy(), select_inputs[0][:, 0].copy()))
        memory = np.concatenate(
            [train_inputs[0]] + ([select_inputs[0]] if selection == "inner" else [])
        )
        memory_labels = np.concatenate(
            [train_labels] + ([select_labels] if selection == "inner" else [])
        )
        return Memorizer(memory, memory_labels, 10)

    result = cross_validate(
        [inputs], labels, folds, train_fold, num_classes=10, test_inputs=[inputs[:7]],
        epoch_selection=selection,
    )  # fmt: skip
    in_sample = Memorizer(inputs, labels, 10).predict_proba([inputs]).argmax(axis=1)
    assert (in_sample == labels).mean() == 1.0  # a leak would score like this
    assert (result.oof_probs.argmax(axis=1) == labels).mean() < 0.2  # chance is 0.1
    assert not np.isnan(result.oof_probs).any()
    for fold, train_first_column, select_first_column in seen_ids:
        predicted = set(inputs[folds == fold, 0])
        assert not predicted & set(train_first_column)
        if selection == "inner":
            assert not predicted & set(select_first_column)
    assert result.test_probs.shape == (8, 7, 10)


def test_cross_validate_checks_row_counts():
    with pytest.raises(ValueError, match="rows but labels have"):
        cross_validate([np.zeros((3, 2))], np.zeros(4), np.zeros(4), None, num_classes=2)


def test_given_selection_rows_pick_every_epoch_and_the_folds_are_all_trained_on():
    inputs = np.arange(40, dtype=np.float32)[:, None]
    labels = np.arange(40) % 4
    folds = assign_folds(labels, 4, seed=0)
    val_inputs, val_labels = np.full((6, 1), -1.0, dtype=np.float32), np.arange(6) % 4
    calls = []

    def train_fold(train_inputs, train_labels, select_inputs, select_labels, fold):
        calls.append((fold, set(train_inputs[0][:, 0]), select_inputs, select_labels))
        return Memorizer(train_inputs[0], train_labels, 4)

    result = cross_validate(
        [inputs], labels, folds, train_fold, num_classes=4, epoch_selection="given",
        select_inputs=[val_inputs], select_labels=val_labels,
    )  # fmt: skip
    assert [fold for fold, *_ in calls] == [0, 1, 2, 3]
    for fold, trained, select_inputs, select_labels in calls:
        assert trained == set(inputs[folds != fold, 0])  # every other fold, none held back
        np.testing.assert_array_equal(select_inputs[0], val_inputs)
        np.testing.assert_array_equal(select_labels, val_labels)
    assert not np.isnan(result.oof_probs).any()


@pytest.mark.parametrize(
    ("selection", "given"), [("given", False), ("inner", True), ("held_out", True)]
)
def test_given_selection_rows_come_with_the_given_mode_only(selection, given):
    labels = np.arange(12) % 2
    select = {"select_inputs": [np.zeros((2, 1))], "select_labels": np.zeros(2)} if given else {}
    with pytest.raises(ValueError, match="select_inputs and select_labels are needed with"):
        cross_validate(
            [np.zeros((12, 1))], labels, assign_folds(labels, 3, seed=0), None, num_classes=2,
            epoch_selection=selection, **select,
        )  # fmt: skip
