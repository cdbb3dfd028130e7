"""The figures: codes and their names on the axes, hardest classes first, and they render to PNG."""

from __future__ import annotations

import io

import numpy as np

from rakuten_kedro.reporting.figures import (
    confusion_matrix_figure,
    methods_bar_chart,
    per_class_f1_figure,
)

CODES = [10, 40, 1280, 1281]


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_confusion_matrix_is_row_normalised_with_codes_and_names_on_the_axes():
    labels = np.array([0, 0, 1, 2, 2, 2, 2, 3])
    predicted = np.array([0, 1, 1, 2, 2, 3, 3, 3])
    figure = confusion_matrix_figure(labels, predicted, CODES)
    axes = figure.axes[0]
    names = ["10 used books", "40 imported video games", "1280 children's toys", "1281 board games"]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == names
    assert [tick.get_text() for tick in axes.get_yticklabels()] == names
    matrix = axes.get_images()[0].get_array()
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert matrix[2, 3] == 0.5  # half of 1280 taken for 1281
    assert _png(figure).startswith(b"\x89PNG")


def test_per_class_f1_lists_the_hardest_code_first():
    figure = per_class_f1_figure({"10": 0.9, "1281": 0.3, "1280": 0.5, "40": 1.0})
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels[0].startswith("1281 board games") and labels[-1].startswith("40 ")
    assert figure.axes[0].yaxis_inverted()  # first label drawn on top
    assert _png(figure).startswith(b"\x89PNG")


def test_methods_bar_chart_marks_the_papers_scores():
    results = {
        "text": {"macro_f1": 0.8, "weighted_f1": 0.82, "accuracy": 0.83},
        "ensemble": {"macro_f1": 0.9, "weighted_f1": 0.91, "accuracy": 0.92},
        "text_tfidf": {"macro_f1": 0.7, "weighted_f1": 0.71, "accuracy": 0.72},
    }
    figure = methods_bar_chart(results, {"text": "text_tfidf"})
    axes = figure.axes[0]
    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    # The headline row names the method it copies; the ensemble is its own row.
    assert labels == ["Uni-Text Classifier = text_tfidf", "Ensemble", "text_tfidf"]
    paper_points = axes.collections[0].get_offsets()
    assert sorted(paper_points[:, 0].tolist()) == [89.93, 91.44]
    assert _png(figure).startswith(b"\x89PNG")
