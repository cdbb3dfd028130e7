"""The fusion network (and the stacking baseline) learn what neither modality alone can."""

from __future__ import annotations

import numpy as np
import pytest

from rakuten_kedro.fusion.decision import (
    cross_validate_decision_fusion,
    fold_ensemble,
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
    def run(inputs):
        return cross_validate_decision_fusion(
            inputs, confused["labels"], confused["folds"], num_classes=NUM_CLASSES,
            network={"hidden": 6, "residual": False},
            training=params("fusion.training", epochs=5, batch_size=32),
            epoch_selection="inner", checkpoint_dir=tmp_path, name="member",
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
