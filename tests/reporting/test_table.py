"""Scores per method and the Table-1-like results table."""

from __future__ import annotations

import numpy as np

from rakuten_kedro.reporting.table import results_markdown, results_table, score_methods

CODES = [10, 40, 50]


def _scores(macro):
    return {"macro_f1": macro, "weighted_f1": macro, "accuracy": macro}


def test_score_methods_orders_headline_first_and_picks_the_best_feature_fusion():
    labels = np.array([0, 1, 2, 0, 1, 2])
    predictions = {
        "text_tfidf": np.array([0, 1, 2, 0, 1, 1]),
        "feature_fusion_concat": np.array([0, 0, 0, 0, 0, 0]),
        "feature_fusion_sum": labels,
        "ensemble": labels,
        "text": np.array([0, 1, 2, 0, 0, 2]),
    }
    results = score_methods(labels, predictions, CODES)
    assert list(results)[:3] == ["text", "feature_fusion", "ensemble"]
    assert results["feature_fusion"] == results["feature_fusion_sum"]
    assert results["ensemble"] == {"macro_f1": 1.0, "weighted_f1": 1.0, "accuracy": 1.0}
    assert set(results["text"]) == {"macro_f1", "weighted_f1", "accuracy"}
    assert 0 < results["text_tfidf"]["macro_f1"] < 1


def test_results_table_puts_the_papers_figures_beside_ours():
    results = {
        "image": _scores(0.5),
        "text": _scores(0.8),
        "decision_fusion": _scores(0.9),
        "ensemble": _scores(0.91234),
        "stacking_logreg": _scores(0.85),
    }
    table = results_table(results)
    assert table["key"].tolist() == [
        "image",
        "text",
        "decision_fusion",
        "ensemble",
        "stacking_logreg",
    ]
    row = table.set_index("key").loc["decision_fusion"]
    assert row["method"] == "Decision-level Fusion"
    assert (row["paper_phase1_macro_f1"], row["paper_phase2_macro_f1"]) == (90.94, 90.17)
    assert table.set_index("key").loc["ensemble", "macro_f1"] == 91.23
    markdown = results_markdown(table, source="demo")
    assert "| Uni-Image Classifier | 69.21 | – | 50.00 | 50.00 | 50.00 |" in markdown
    assert "| Ensemble | – | 91.44 | 91.23 |" in markdown
    assert "| `stacking_logreg` | – | – | 85.00 |" in markdown
    assert "demo data" in markdown and "out-of-fold" in markdown
