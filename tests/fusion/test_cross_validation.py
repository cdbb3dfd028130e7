"""Out-of-fold scoring never sees its own rows (checked two ways), and batches come whole."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from rakuten_kedro.fusion.cross_validation import array_loader, cross_validate
from rakuten_kedro.fusion.folds import assign_folds


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
    assert result.test_vote().shape == (7,)


def test_array_loader_serves_whole_dict_batches():
    loader = array_loader(
        {"inputs": np.ones((10, 3)), "labels": np.arange(10)}, batch_size=4, shuffle=False
    )
    batches = list(loader)
    assert [len(batch["labels"]) for batch in batches] == [4, 4, 2]
    assert batches[0]["inputs"].dtype.is_floating_point and batches[0]["labels"].tolist() == [
        0,
        1,
        2,
        3,
    ]
    full = list(array_loader({"labels": np.arange(10)}, batch_size=0, shuffle=True))
    assert len(full) == 1 and sorted(full[0]["labels"].tolist()) == list(range(10))


def test_cross_validate_checks_row_counts():
    with pytest.raises(ValueError, match="rows but labels have"):
        cross_validate([np.zeros((3, 2))], np.zeros(4), np.zeros(4), None, num_classes=2)
