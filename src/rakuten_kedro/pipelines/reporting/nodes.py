"""Nodes of the reporting pipeline: thin calls into ``rakuten_kedro.reporting``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rakuten_kedro.config import Ensemble, FusionDecisions, ModelCard, parses_params
from rakuten_kedro.reporting.figures import (
    confusion_matrix_figure,
    methods_bar_chart,
    per_class_f1_figure,
)
from rakuten_kedro.reporting.headline import (
    best_validated_method,
    choose_headline,
    headline_candidates,
    headline_results,
)
from rakuten_kedro.reporting.model_card import model_card
from rakuten_kedro.reporting.table import (
    method_columns,
    results_markdown,
    results_table,
    score_methods,
)
from rakuten_kedro.tables import prediction_labels, probs_matrix, validation_rows
from rakuten_kedro.training.metrics import classification_metrics


def collect_validation_predictions(
    products: pd.DataFrame, label_encoding: dict[str, Any], **method_tables: pd.DataFrame
) -> pd.DataFrame:
    """Every method's predicted label on every validation row, beside the true label.

    Args:
        products: The ``products`` table.
        label_encoding: ``{"codes": [...]}``.
        **method_tables: Method name (``text``, ``image``, ``decision_fusion``, ``ensemble``,
            extras) → its probability table (``row_id`` + one column per code) or prediction
            table (``row_id``, ``label``, …).

    Returns:
        ``row_id``, ``label`` (true), then one column of predicted label indices per method.
    """
    codes = list(label_encoding["codes"])
    row_ids, labels = validation_rows(products)
    table = pd.DataFrame({"row_id": row_ids, "label": labels})
    for method, method_table in method_tables.items():
        if "label" in method_table.columns:
            table[method] = prediction_labels(method_table, row_ids, method)
        else:
            table[method] = probs_matrix(method_table, codes, row_ids, method).argmax(axis=1)
    return table


def score_validation_predictions(
    validation_predictions: pd.DataFrame,
    label_encoding: dict[str, Any],
    grid: dict[str, Any],
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Scores every method on the validation split, then fills the headline rows with the text
    variant, image variant, member and feature fusion mode that scored best.

    Args:
        validation_predictions: Output of ``collect_validation_predictions``.
        label_encoding: ``{"codes": [...]}``.
        grid: The ``grid`` parameters (the candidates of each headline row).

    Returns:
        ``results.json`` (``{method: {"macro_f1", "weighted_f1", "accuracy"}}``, headline rows
        first) and ``headline_choice`` (headline row → the method chosen for it).
    """
    labels = validation_predictions["label"].to_numpy()
    predictions = {
        method: validation_predictions[method].to_numpy()
        for method in method_columns(validation_predictions)
    }
    scores = score_methods(labels, predictions, list(label_encoding["codes"]))
    choice = choose_headline(scores, headline_candidates(grid, scores))
    return headline_results(scores, choice), choice


def make_results_table(
    results: dict[str, dict[str, float]], headline_choice: dict[str, str]
) -> tuple[pd.DataFrame, str]:
    """The results table with the paper's figures beside ours, as CSV data and Markdown.

    Args:
        results: The content of ``results.json``.
        headline_choice: Headline row → the method chosen for it (the table names it).

    Returns:
        The table (for the CSV) and its Markdown rendering.
    """
    table = results_table(results, headline_choice)
    return table, results_markdown(table)


def plot_methods(results: dict[str, dict[str, float]], headline_choice: dict[str, str]) -> Figure:
    """Bar chart of every method's scores (the paper's macro-F1 marked).

    Args:
        results: The content of ``results.json``.
        headline_choice: Headline row -> the method chosen for it (named on its bar).

    Returns:
        The figure.
    """
    return methods_bar_chart(results, headline_choice)


def plot_best_method(
    validation_predictions: pd.DataFrame,
    results: dict[str, dict[str, float]],
    label_encoding: dict[str, Any],
) -> tuple[Figure, Figure]:
    """Confusion matrix and per-class F1 of the method with the best validation macro-F1.

    Args:
        validation_predictions: Output of ``collect_validation_predictions``.
        results: The content of ``results.json``.
        label_encoding: ``{"codes": [...]}``.

    Returns:
        The normalised confusion matrix figure and the per-class F1 figure.
    """
    codes = list(label_encoding["codes"])
    best = best_validated_method(results, method_columns(validation_predictions))
    labels = validation_predictions["label"].to_numpy()
    predicted = validation_predictions[best].to_numpy(dtype=np.int64)
    per_class = classification_metrics(labels, predicted, codes)["per_class_f1"]
    macro = 100 * results[best]["macro_f1"]
    return (
        confusion_matrix_figure(
            labels, predicted, codes, f"{best}: normalised confusion matrix (validation)"
        ),
        per_class_f1_figure(per_class, f"{best}: per-class F1, macro-F1 {macro:.1f} (validation)"),
    )


@parses_params
def write_model_card(  # noqa: PLR0917 - Kedro passes node inputs positionally
    products: pd.DataFrame,
    results: dict[str, dict[str, float]],
    headline_choice: dict[str, str],
    validation_predictions: pd.DataFrame,
    label_encoding: dict[str, Any],
    grid: dict[str, Any],
    options: ModelCard,
    ensemble: Ensemble,
    decisions: FusionDecisions,
    denoising_metrics: dict[str, Any] | None = None,
    **image_metrics: dict[str, Any],
) -> str:
    """The model card (Markdown) of the run: data, method, scores, denoising, limits.

    Args:
        products: The ``products`` table.
        results: The content of ``results.json``.
        headline_choice: Headline row → the method chosen for it.
        validation_predictions: Output of ``collect_validation_predictions``.
        label_encoding: ``{"codes": [...]}``.
        grid: The ``grid`` parameters.
        options: The ``model_card`` parameters.
        ensemble: The ``ensemble`` parameters (the card names the vote).
        decisions: ``fusion.decisions`` (the card names how the fusions decide).
        denoising_metrics: The denoising pipeline's metrics (None: the grid does not denoise).
        **image_metrics: Image variant name -> its metrics (training stages' times).

    Returns:
        The card's text.
    """
    return model_card(
        products, results, headline_choice, validation_predictions, list(label_encoding["codes"]),
        denoising_metrics, grid, options, image_metrics, ensemble, decisions.prior_correction,
    )  # fmt: skip
