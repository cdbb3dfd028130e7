"""Prediction helpers: a member's fold vote, the top-k table, the text-only fallback."""

from __future__ import annotations

import numpy as np
import torch

from rakuten_kedro.fusion.predict import (
    ensemble_with_text_fallback,
    fold_ensemble_predict,
    top_k_table,
)
from rakuten_kedro.models.fusion import build_decision_fold_ensemble

CODES = [10, 40, 50, 60]


def test_fold_ensemble_predict_votes_over_the_folds():
    ensemble = build_decision_fold_ensemble(num_folds=3, num_inputs=8, num_classes=4, residual=True)
    text = np.eye(4, dtype=np.float32)[[0, 1, 2]] * 0.9 + 0.025
    image = np.eye(4, dtype=np.float32)[[0, 1, 3]] * 0.5 + 0.125
    votes, probs = fold_ensemble_predict(ensemble, [text, image])
    # Untrained residual networks = product of experts: row 2 → text's 2 (0.925 × 0.125)
    # beats image's 3 (0.025 × 0.625).
    assert votes.tolist() == [0, 1, 2]
    assert probs.shape == (3, 4) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert isinstance(probs, np.ndarray) and not torch.is_tensor(probs)


def test_top_k_table_lists_the_predicted_code_first_with_names():
    probs = np.array([[0.1, 0.5, 0.3, 0.1], [0.7, 0.1, 0.1, 0.1]], dtype=np.float32)
    table = top_k_table(np.array([8, 9]), np.array([2, 0]), probs, CODES, k=3)
    assert table.loc[0, ["prdtypecode", "top2_prdtypecode"]].tolist() == [50, 40]  # the vote
    assert table.loc[0, ["category", "top2_category"]].tolist() == [
        "gaming accessories",
        "imported video games",
    ]
    assert np.isclose(table.loc[0, "probability"], 0.3)
    assert list(table.columns) == [
        "row_id", "prdtypecode", "category", "probability",
        "top2_prdtypecode", "top2_category", "top2_probability",
        "top3_prdtypecode", "top3_category", "top3_probability",
    ]  # fmt: skip


def test_products_without_photo_get_the_text_answer():
    member_votes = [np.array([1, 1]), np.array([1, 2]), np.array([3, 1])]
    member_probs = [np.full((2, 4), 0.25)] * 3
    text = np.array([[0.1, 0.2, 0.3, 0.4], [0.9, 0.05, 0.03, 0.02]])
    predicted, probs = ensemble_with_text_fallback(
        "majority", member_votes, member_probs, text, np.array([True, False])
    )
    assert predicted.tolist() == [1, 0]
    assert np.allclose(probs[1], text[1]) and np.allclose(probs[0], 0.25)


def test_the_rule_decides_between_two_hesitant_members_and_one_confident_one():
    hesitant = np.array([[0.4, 0.6, 0.0]])
    confident = np.array([[1.0, 0.0, 0.0]])
    member_probs = [hesitant, hesitant, confident]
    member_votes = [probs.argmax(axis=1) for probs in member_probs]
    answers = {
        rule: ensemble_with_text_fallback(
            rule, member_votes, member_probs, np.zeros((1, 3)), np.array([True])
        )[0].tolist()
        for rule in ("majority", "soft")
    }
    # majority: two votes for class 1; soft: mean probabilities 0.6 vs 0.4 for class 0
    assert answers == {"majority": [1], "soft": [0]}
