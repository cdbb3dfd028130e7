"""Figures of the results: methods bar chart, normalised confusion matrix, per-class F1.

Each function returns a ``matplotlib.figure.Figure`` built without ``pyplot`` (no global
state, no window); the catalog's ``MatplotlibDataset`` saves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from rakuten_kedro.codes import code_label
from rakuten_kedro.reporting.table import HEADLINE_METHODS, PAPER_MACRO_F1


def methods_bar_chart(
    results: Mapping[str, Mapping[str, float]],
    headline_choice: Mapping[str, str] | None = None,
    title: str = "",
) -> Figure:
    """Horizontal bars of every method's macro-F1 and weighted-F1, the paper's macro-F1 marked.

    Args:
        results: ``{method: {"macro_f1", "weighted_f1", "accuracy"}}`` (fractions).
        headline_choice: Headline row -> the method it copies; named in the row's label, so
            that a bar repeated under its own name further down reads as the same method.
        title: Figure title.

    Returns:
        The figure.
    """
    methods = list(results)
    positions = np.arange(len(methods))
    macro = [100 * results[m]["macro_f1"] for m in methods]
    weighted = [100 * results[m]["weighted_f1"] for m in methods]
    figure = Figure(figsize=(8, 0.45 * len(methods) + 1.6), layout="constrained")
    axes = figure.subplots()
    axes.barh(positions - 0.2, macro, height=0.4, label="macro-F1 (ours, validation)")
    axes.barh(positions + 0.2, weighted, height=0.4, label="weighted-F1 (ours, validation)")
    for position, value in zip(positions, macro, strict=True):
        axes.text(value + 0.5, position - 0.2, f"{value:.1f}", va="center", fontsize=8)
    paper = [
        (position, max(v for v in PAPER_MACRO_F1[m] if v is not None))
        for position, m in zip(positions, methods, strict=True)
        if m in PAPER_MACRO_F1
    ]
    if paper:
        axes.scatter(
            [value for _, value in paper],
            [position for position, _ in paper],
            marker="D",
            color="black",
            zorder=3,
            label="paper macro-F1 (online test)",
        )
    axes.set_yticks(positions, [_bar_label(m, headline_choice or {}) for m in methods], fontsize=9)
    axes.invert_yaxis()
    axes.set_xlim(0, 105)
    axes.set_xlabel("score (%)")
    # Below the axes: inside, it would hide the last method's bars.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=3, fontsize=8)
    axes.set_title(title or "Methods on the validation split (fusion out-of-fold)")
    return figure


def _bar_label(method: str, headline_choice: Mapping[str, str]) -> str:
    """The paper's row label of a headline row (with the method it copies), else the name."""
    if method not in HEADLINE_METHODS:
        return method
    chosen = headline_choice.get(method, method)
    return HEADLINE_METHODS[method] + ("" if chosen == method else f" = {chosen}")


def confusion_matrix_figure(
    labels: np.ndarray, predicted: np.ndarray, codes: Sequence[int], title: str = ""
) -> Figure:
    """Row-normalised confusion matrix (each true code's row sums to 1), codes and names on
    both axes.

    Off-diagonal cells of at least 5 % are written out, so the hard pairs stand out.

    Args:
        labels: ``(N,)`` true label indices.
        predicted: ``(N,)`` predicted label indices.
        codes: The codes in label order.
        title: Figure title.

    Returns:
        The figure.
    """
    matrix = confusion_matrix(labels, predicted, labels=np.arange(len(codes))).astype(float)
    totals = matrix.sum(axis=1, keepdims=True)
    matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    figure = Figure(figsize=(12.5, 11), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of the true code's products")
    ticks = np.arange(len(codes))
    labels = [code_label(code) for code in codes]
    axes.set_xticks(ticks, labels, rotation=90, fontsize=8)
    axes.set_yticks(ticks, labels, fontsize=8)
    axes.set_xlabel("predicted prdtypecode")
    axes.set_ylabel("true prdtypecode")
    for row, column in zip(*np.nonzero(matrix >= 0.05), strict=True):
        value = matrix[row, column]
        axes.text(
            column,
            row,
            f"{value:.2f}"[1:] if value < 1 else "1",
            ha="center",
            va="center",
            fontsize=6,
            color="white" if value > 0.5 else "black",
        )
    axes.set_title(title or "Normalised confusion matrix (validation)")
    return figure


def per_class_f1_figure(per_class_f1: Mapping[str, float], title: str = "") -> Figure:
    """Per-code F1, sorted from the hardest code, with the codes' community names.

    Args:
        per_class_f1: ``{str(code): f1}`` (as in ``classification_metrics``).
        title: Figure title.

    Returns:
        The figure.
    """
    items = sorted(per_class_f1.items(), key=lambda item: item[1])
    values = [100 * value for _, value in items]
    mean = float(np.mean(values)) if values else 0.0
    labels = [code_label(int(code)) for code, _ in items]
    figure = Figure(figsize=(8, 0.3 * len(items) + 1.5), layout="constrained")
    axes = figure.subplots()
    colors = ["tab:red" if value < mean else "tab:blue" for value in values]
    positions = np.arange(len(items))
    axes.barh(positions, values, color=colors)
    axes.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"macro-F1 {mean:.1f}")
    axes.set_yticks(positions, labels, fontsize=8)
    axes.invert_yaxis()  # the hardest codes on top
    axes.set_xlim(0, 100)
    axes.set_xlabel("F1 (%) on the validation split")
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title or "Per-class F1 (red: below the macro average)")
    return figure
