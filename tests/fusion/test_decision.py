"""The fusion network (and the stacking baseline) learn what neither modality alone can."""

from __future__ import annotations

import numpy as np
import pytest

from rakuten_kedro.fusion.decision import (
    cross_validate_decision_fusion,
    fold_ensemble,
    prior_offset,
    stack_probabilities,
)
from rakuten_kedro.fusion.stacking import cross_validate_stacking
from rakuten_kedro.fusion.vote import vote_from_probs
from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.training.metrics import macro_f1
from tests.fusion.synthetic import modality_probs
from tests.params import params

NUM_CLASSES = 6


@pytest.fixture(scope="module")
def confused():
    labels = np.arange(240) % NUM_CLASSES
    text, image = modality_probs(labels, NUM_CLASSES, seed=0)
    test_labels = np.arange(60) % NUM_CLASSES
    test_text, test_image = modality_probs(test_labels, NUM_CLASSES, seed=1)
    return {
        "labels": labels,
        "text": text,
        "image": image,
        "inputs": stack_probabilities([text, image]),
        "test_labels": test_labels,
        "test_inputs": stack_probabilities([test_text, test_image]),
        "folds": assign_folds(labels, 4, seed=2020),
    }


def _unimodal_best(confused):
    return max(
        macro_f1(confused["labels"], confused[name].argmax(axis=1), NUM_CLASSES)
        for name in ("text", "image")
    )


@pytest.mark.parametrize(("hidden", "residual"), [(0, False), (6, False), (6, True)])
def test_decision_fusion_beats_both_modalities_out_of_fold(confused, hidden, residual):
    result = cross_validate_decision_fusion(
        confused["inputs"], confused["labels"], confused["folds"], num_classes=NUM_CLASSES,
        network={"hidden": hidden, "residual": residual},
        training=params("fusion.training", epochs=25, batch_size=32), epoch_selection="inner",
        test_inputs=confused["test_inputs"],
    )  # fmt: skip
    unimodal = _unimodal_best(confused)
    assert unimodal < 0.85  # each modality alone confuses a pair of classes
    fused = macro_f1(confused["labels"], result.oof_probs.argmax(axis=1), NUM_CLASSES)
    assert fused > unimodal + 0.1 and fused > 0.95
    assert macro_f1(confused["test_labels"], vote_from_probs(result.test_probs), NUM_CLASSES) > 0.95
    assert len(result.models) == 4 and all(1 <= epoch <= 25 for epoch in result.best_epochs)
    logits = fold_ensemble(result)(__import__("torch").as_tensor(confused["test_inputs"][:3]))
    assert tuple(logits.shape) == (4, 3, NUM_CLASSES)


def test_stacking_baseline_also_learns_the_case(confused):
    result = cross_validate_stacking(
        confused["inputs"], confused["labels"], confused["folds"], num_classes=NUM_CLASSES,
        settings=params("fusion.stacking", c=10.0), epoch_selection="inner", seed=2020,
        test_inputs=confused["test_inputs"],
    )  # fmt: skip
    fused = macro_f1(confused["labels"], result.oof_probs.argmax(axis=1), NUM_CLASSES)
    assert fused > _unimodal_best(confused) + 0.1
    assert result.test_probs.shape == (4, 60, NUM_CLASSES)


def test_stacking_fills_classes_missing_from_a_fold_with_zeros():
    labels = np.array([0] * 10 + [1] * 10 + [2])  # class 2 appears in a single fold
    inputs = np.eye(3, dtype=np.float32)[labels]
    folds = assign_folds(labels, 4, seed=0)
    result = cross_validate_stacking(
        inputs, labels, folds, num_classes=3, settings=params("fusion.stacking"),
        epoch_selection="inner", seed=0,
    )  # fmt: skip
    assert result.oof_probs.shape == (21, 3) and not np.isnan(result.oof_probs).any()
    assert np.allclose(result.oof_probs.sum(axis=1), 1.0, atol=1e-5)


def test_fold_networks_are_reused_only_for_the_same_inputs(confused, tmp_path, caplog):
    def run(inputs, decision_offset=None):
        return cross_validate_decision_fusion(
            inputs, confused["labels"], confused["folds"], num_classes=NUM_CLASSES,
            network={"hidden": 6, "residual": False},
            training=params("fusion.training", epochs=5, batch_size=32),
            epoch_selection="inner", checkpoint_dir=tmp_path, name="member",
            decision_offset=decision_offset,
        )  # fmt: skip

    first = run(confused["inputs"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fold0", "fold1", "fold2", "fold3"]
    with caplog.at_level("INFO", logger="rakuten_kedro.training.cross_validation"):
        again = run(confused["inputs"])
    assert "member: 4 of 4 fold models reused" in caplog.text
    np.testing.assert_array_equal(again.oof_probs, first.oof_probs)

    caplog.clear()
    changed = confused["inputs"].copy()
    changed[0, :NUM_CLASSES] = changed[0, ::-1][:NUM_CLASSES]  # one row's text probabilities
    with caplog.at_level("INFO", logger="rakuten_kedro.training.cross_validation"):
        run(changed)
    # Only the fold that merely predicts that row (never trains or selects on it) is reused.
    assert "member: 1 of 4 fold models reused" in caplog.text

    caplog.clear()  # another prior correction: its epochs were chosen by other decisions
    with caplog.at_level("INFO", logger="rakuten_kedro.training.cross_validation"):
        run(confused["inputs"], decision_offset=np.linspace(-1, 0, NUM_CLASSES))
    assert "reused" not in caplog.text


def test_prior_offset_is_tau_times_the_log_of_the_smoothed_training_frequency():
    labels = np.array([0, 0, 0, 1])  # class 2 has no training row: add-one keeps it finite
    np.testing.assert_allclose(prior_offset(labels, 3, 1.0), np.log([4 / 7, 2 / 7, 1 / 7]), 1e-6)
    np.testing.assert_allclose(prior_offset(labels, 3, 0.5), 0.5 * np.log([4 / 7, 2 / 7, 1 / 7]))
    assert prior_offset(labels, 3, 0.0) is None  # no correction: the networks carry no offset
    with pytest.raises(ValueError, match=r"prior_correction must be in \[0, 1\], got 1.5"):
        prior_offset(labels, 3, 1.5)
    with pytest.raises(ValueError, match=r"labels holds label indices outside 0..2"):
        prior_offset(np.array([0, 3]), 3, 1.0)


def _rare_pair(n_frequent: int, n_rare: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Classes 0 (frequent) and 1 (rare) share their probability mass, tilted 58/42 towards
    the true one with noise; classes 2 and 3 are plain."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 2, 3], [n_frequent, n_rare, n_frequent, n_frequent])
    pair = labels < 2
    modalities = []
    for _ in range(2):
        probs = rng.dirichlet(np.ones(4), size=len(labels)) * 0.2
        share = np.clip(np.where(labels == 1, 0.42, 0.58) + rng.normal(0, 0.12, len(labels)), 0, 1)
        probs[pair, 0] += share[pair]
        probs[pair, 1] += 1 - share[pair]
        probs[~pair, labels[~pair]] += 1
        modalities.append(probs / probs.sum(axis=1, keepdims=True))
    return labels, stack_probabilities(modalities)


def test_the_prior_correction_lifts_a_rare_class_the_fit_overlooks():
    labels, inputs = _rare_pair(60, 12, seed=0)
    test_labels, test_inputs = _rare_pair(200, 40, seed=1)
    train_labels = np.repeat([0, 1, 2, 3], [600, 120, 600, 600])  # the same 5:1 imbalance

    def rare_recall(correction: float) -> float:
        result = cross_validate_decision_fusion(
            inputs, labels, assign_folds(labels, 4, seed=0), num_classes=4,
            network={"hidden": 0, "residual": True},
            training=params("fusion.training", epochs=20, batch_size=32),
            epoch_selection="inner", test_inputs=test_inputs,
            decision_offset=prior_offset(train_labels, 4, correction),
        )  # fmt: skip
        predicted = result.test_probs.mean(axis=0).argmax(axis=1)
        return float((predicted[test_labels == 1] == 1).mean())

    plain, corrected = rare_recall(0.0), rare_recall(1.0)
    # The fit leaves the rare class a third of its rows; dividing by the prior wins most back
    # (at the frequent class's expense: whether that pays is the accuracy benchmark's question).
    assert plain < 0.75 and corrected > plain + 0.15, (plain, corrected)
