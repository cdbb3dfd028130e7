"""The headline rows: the text variant, image variant, member and feature fusion mode with the
best validation macro-F1, ties to the first declared."""

from __future__ import annotations

import pytest

from rakuten_kedro.reporting.headline import (
    best_method,
    best_validated_method,
    choose_headline,
    headline_candidates,
    headline_results,
)

GRID = {
    "text": [
        {"name": "text_a", "kind": "transformer", "training_ids": "all"},
        {"name": "text_b", "kind": "tfidf", "training_ids": "all"},
    ],
    "image": [{"name": "image_a"}, {"name": "image_b"}],
    "members": [
        {"name": "fusion_first", "text": "text_a", "image": "image_a", "network": "two_layer"},
        {"name": "fusion_second", "text": "text_b", "image": "image_b", "network": "one_layer"},
    ],
}


def _scores(macro: float, weighted: float = 0.5) -> dict[str, float]:
    return {"macro_f1": macro, "weighted_f1": weighted, "accuracy": weighted}


SCORES = {
    "text_a": _scores(0.70),
    "text_b": _scores(0.75),
    "image_a": _scores(0.40),
    "image_b": _scores(0.40, weighted=0.9),  # ties image_a on macro-F1
    "fusion_first": _scores(0.80),
    "fusion_second": _scores(0.85, weighted=0.8),
    "ensemble": _scores(0.88),
    "stacking_logreg": _scores(0.82),
    "feature_fusion_concat": _scores(0.60),
    "feature_fusion_sum": _scores(0.65),
}


def test_the_second_declared_member_wins_when_it_scores_better_and_a_tie_goes_to_the_first():
    choice = choose_headline(SCORES, headline_candidates(GRID, SCORES))
    assert choice == {
        "image": "image_a",  # tie with image_b: the first declared
        "text": "text_b",
        "feature_fusion": "feature_fusion_sum",
        "decision_fusion": "fusion_second",
    }
    assert list(choice) == ["image", "text", "feature_fusion", "decision_fusion"]  # Table 1


def test_results_put_the_chosen_methods_scores_in_the_headline_rows_first():
    choice = choose_headline(SCORES, headline_candidates(GRID, SCORES))
    results = headline_results(SCORES, choice)
    assert list(results)[:5] == ["image", "text", "feature_fusion", "decision_fusion", "ensemble"]
    assert list(results)[5:] == [name for name in SCORES if name != "ensemble"]
    assert results["decision_fusion"] == {"macro_f1": 0.85, "weighted_f1": 0.8, "accuracy": 0.8}
    assert results["image"] == results["image_a"] == _scores(0.40)
    assert results["text"]["macro_f1"] == 0.75
    results["text"]["macro_f1"] = 0.0  # rows are copies: the chosen method's own row is intact
    assert results["text_b"]["macro_f1"] == 0.75


def test_candidates_follow_the_declaration_order_and_skip_empty_rows():
    assert headline_candidates(GRID, ["text_a", "feature_fusion_sum"]) == {
        "text": ["text_a", "text_b"],
        "image": ["image_a", "image_b"],
        "decision_fusion": ["fusion_first", "fusion_second"],
        "feature_fusion": ["feature_fusion_sum"],
    }
    assert "feature_fusion" not in headline_candidates(GRID, ["text_a"])


def test_best_method_breaks_ties_by_order_and_needs_a_score():
    assert best_method(SCORES, ["image_b", "image_a"]) == "image_b"
    assert best_method(SCORES, ["image_a", "image_b"]) == "image_a"
    with pytest.raises(KeyError):
        best_method(SCORES, ["text_unscored"])


def test_the_method_shown_is_the_ensemble_on_a_tie_else_the_best():
    results = {name: {"macro_f1": 0.9} for name in ("member_a", "ensemble", "member_b")}
    assert best_validated_method(results, ["member_a", "ensemble", "member_b"]) == "ensemble"
    results["member_b"]["macro_f1"] = 0.91
    assert best_validated_method(results, ["member_a", "ensemble", "member_b"]) == "member_b"
    assert best_validated_method(results, ["member_a"]) == "member_a"
