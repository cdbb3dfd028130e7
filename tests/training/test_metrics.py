"""classification_metrics: the one scoring function of every variant."""

import json

import numpy as np
import pytest

from rakuten_kedro.training.metrics import classification_metrics, macro_f1

CODES = [10, 40, 50]


def test_values_on_a_hand_computed_example():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 1, 2, 2, 2]
    metrics = classification_metrics(y_true, y_pred, CODES)
    assert set(metrics) == {"macro_f1", "weighted_f1", "accuracy", "per_class_f1"}
    # class 1: P=1, R=0.5 -> F1 2/3; class 2: P=2/3, R=1 -> F1 0.8
    assert metrics["per_class_f1"] == pytest.approx({"10": 1.0, "40": 2 / 3, "50": 0.8})
    assert metrics["macro_f1"] == pytest.approx((1 + 2 / 3 + 0.8) / 3)
    assert metrics["weighted_f1"] == pytest.approx((1 + 2 / 3 + 0.8) / 3)
    assert metrics["accuracy"] == pytest.approx(5 / 6)
    json.dumps(metrics)  # plain floats and string keys


def test_absent_classes_count_as_zero():
    metrics = classification_metrics(np.array([0, 0]), np.array([0, 0]), CODES)
    assert metrics["per_class_f1"] == {"10": 1.0, "40": 0.0, "50": 0.0}
    assert metrics["macro_f1"] == pytest.approx(1 / 3)
    assert metrics["weighted_f1"] == pytest.approx(1.0)
    assert macro_f1([0, 0], [0, 0], 3) == pytest.approx(1 / 3)


def test_codes_instead_of_indices_are_rejected():
    with pytest.raises(ValueError, match="outside 0..2"):
        classification_metrics([10, 40], [10, 40], CODES)
    with pytest.raises(ValueError, match="2 rows but y_pred has 1"):
        classification_metrics([0, 1], [0], CODES)
