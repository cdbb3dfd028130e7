"""A class with fewer rows than cross-validation folds: denoising warns naming the code and goes
on; decision fusion accepts it (documented); too few rows overall is a clear error."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from rakuten_kedro.fusion.decision import cross_validate_decision_fusion, stack_probabilities
from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.vision import denoise
from rakuten_kedro.vision.denoise import rank_label_issues
from tests.fusion.synthetic import modality_probs
from tests.params import params

CODES = [10, 40, 50, 2583]


def labels_with_small_classes() -> np.ndarray:
    """Codes 10, 40 with 12 rows; code 50 with 2 rows; code 2583 with a single row."""
    return np.r_[np.repeat([0, 1], 12), [2, 2], [3]]


#: Read once, here: reading parameters imports Kedro's settings, which warn.
DENOISING = params("denoising", folds=4, seed=0)


def denoising_folds(labels: np.ndarray) -> np.ndarray:
    """4 folds, assigned by the function both denoising cross-validations call."""
    return denoise.denoising_folds(labels, DENOISING, CODES)


def test_denoising_folds_warn_naming_the_small_codes(caplog):
    labels = labels_with_small_classes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn's own warning is replaced by ours
        with caplog.at_level(logging.WARNING, logger="rakuten_kedro.training.folds"):
            folds = denoising_folds(labels)
    assert "code(s) [50, 2583] have fewer training rows than the 4 folds (denoising.folds" in (
        caplog.text
    )
    assert "{50: 2, 2583: 1}" in caplog.text
    assert sorted(set(folds)) == [0, 1, 2, 3]
    assert len(set(folds[labels == 2])) == 2  # its two rows are in two different folds


def test_denoising_label_issues_still_rank_with_a_single_row_class():
    labels = labels_with_small_classes()
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(CODES)) * 0.3, size=len(labels))
    probs[np.arange(len(labels)), labels] += 1.0
    probs[-1] = [0.7, 0.1, 0.1, 0.1]  # the single 2583 row, predicted by a model never seeing it
    probs /= probs.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab: "may not flag all label issues in class 3"
        ranked, quality = rank_label_issues(labels, probs)
    assert np.isfinite(quality).all()
    assert set(ranked) <= set(range(len(labels)))


def test_denoising_folds_when_every_code_is_too_small():
    with pytest.raises(ValueError, match=r"every code has fewer training rows than the 4 folds"):
        denoising_folds(np.array([0, 0, 1, 1, 2, 2]))
    with pytest.raises(ValueError, match="cannot split 3 training rows into 4 folds: denoising"):
        denoising_folds(np.array([0, 1, 2]))


def test_decision_fusion_accepts_a_code_with_fewer_rows_than_folds():
    labels = np.r_[np.arange(96) % 5, [5]]  # class 5: a single validation row, 8 folds
    text, image = modality_probs(labels, 6, seed=0)
    folds = assign_folds(labels, 8, seed=2020)
    assert np.bincount(folds).min() >= 96 // 8  # near-equal folds, the small class included
    result = cross_validate_decision_fusion(
        stack_probabilities([text, image]), labels, folds, num_classes=6,
        network=params("fusion.networks.one_layer"),
        training=params("fusion.training", epochs=3, seed=1), epoch_selection="inner",
    )  # fmt: skip
    assert np.isfinite(result.oof_probs).all()
    np.testing.assert_allclose(result.oof_probs.sum(axis=1), 1.0, rtol=1e-5)


def test_fusion_with_more_folds_than_rows_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"num_folds must be between 2 and the number of rows \(5\)"
    ):
        assign_folds(np.arange(5) % 2, 8, seed=0)
