"""Scores per method and the Table-1-like results table."""

from __future__ import annotations

import numpy as np

from rakuten_kedro.reporting.table import results_markdown, results_table, score_methods

CODES = [10, 40, 50]


def _scores(macro):
    return {"macro_f1": macro, "weighted_f1": macro, "accuracy": macro}


def test_score_methods_scores_every_method_under_its_own_name_in_order():
    labels = np.array([0, 1, 2, 0, 1, 2])
    predictions = {
        "text_tfidf": np.array([0, 1, 2, 0, 1, 1]),
        "feature_fusion_sum": labels,
        "ensemble": labels,
    }
    results = score_methods(labels, predictions, CODES)
    assert list(results) == ["text_tfidf", "feature_fusion_sum", "ensemble"]
    assert results["ensemble"] == {"macro_f1": 1.0, "weighted_f1": 1.0, "accuracy": 1.0}
    assert results["text_tfidf"]["accuracy"] == 5 / 6
    assert 0 < results["text_tfidf"]["macro_f1"] < 1


def test_results_table_puts_the_papers_figures_beside_ours():
    results = {
        "image": _scores(0.5),
        "text": _scores(0.8),
        "decision_fusion": _scores(0.9),
        "ensemble": _scores(0.91234),
        "stacking_logreg": _scores(0.85),
    }
    table = results_table(results, {"decision_fusion": "fusion_b", "text": "text_a"})
    assert table["key"].tolist() == [
        "image",
        "text",
        "decision_fusion",
        "ensemble",
        "stacking_logreg",
    ]
    row = table.set_index("key").loc["decision_fusion"]
    assert (row["method"], row["chosen"]) == ("Decision-level Fusion", "fusion_b")
    assert table["chosen"].fillna("").tolist() == ["", "text_a", "fusion_b", "", ""]
    assert (row["paper_phase1_macro_f1"], row["paper_phase2_macro_f1"]) == (90.94, 90.17)
    assert table.set_index("key").loc["ensemble", "macro_f1"] == 91.23
    markdown = results_markdown(table, source="demo")
    assert "| Uni-Image Classifier | 69.21 | – | 50.00 | 50.00 | 50.00 |" in markdown
    assert "| Decision-level Fusion (`fusion_b`) | 90.94 | 90.17 | 90.00 |" in markdown
    assert "| Uni-Text Classifier (`text_a`) | 89.93 |" in markdown
    assert "with the best validation macro-F1 (named in brackets" in markdown
    assert "| Ensemble | – | 91.44 | 91.23 |" in markdown
    assert "| `stacking_logreg` | – | – | 85.00 |" in markdown
    assert "demo data" in markdown and "out-of-fold" in markdown
    assert "named in brackets" not in results_markdown(results_table(results))  # no choice
