"""Scores per method and the results table laid out like the paper's Table 1.

The paper's figures are the online macro-F1 (%) on the challenge test set; ours are on the
validation split (fusion and ensemble scored out-of-fold). Both are shown, never mixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rakuten_kedro.training.metrics import classification_metrics

#: Table 1 of Bi et al. (2020): online macro-F1 (%), phase 1 and phase 2 (None: not submitted).
PAPER_MACRO_F1: dict[str, tuple[float | None, float | None]] = {
    "image": (69.21, None),
    "text": (89.93, None),
    "feature_fusion": (89.87, None),
    "decision_fusion": (90.94, 90.17),
    "ensemble": (None, 91.44),
}

#: The headline methods in Table 1's order, with the paper's row labels.
HEADLINE_METHODS: dict[str, str] = {
    "image": "Uni-Image Classifier",
    "text": "Uni-Text Classifier",
    "feature_fusion": "Feature-level Fusion",
    "decision_fusion": "Decision-level Fusion",
    "ensemble": "Ensemble",
}

#: Methods whose name starts with this are feature-level fusion modes; the best one is the
#: headline ``feature_fusion`` (the paper reports its best feature-level result).
FEATURE_FUSION_PREFIX = "feature_fusion_"

METRIC_NAMES = ("macro_f1", "weighted_f1", "accuracy")


def score_methods(
    labels: np.ndarray, predictions: Mapping[str, np.ndarray], codes: Sequence[int]
) -> dict[str, dict[str, float]]:
    """Scores every method's predictions under its own name.

    Args:
        labels: ``(N,)`` true label indices of the validation rows.
        predictions: Method name → ``(N,)`` predicted label indices.
        codes: The codes in label order.

    Returns:
        ``{method: {"macro_f1", "weighted_f1", "accuracy"}}`` in the given order (the headline
        rows are added by ``reporting.headline``).
    """
    scores = {}
    for method, predicted in predictions.items():
        metrics = classification_metrics(labels, predicted, codes)
        scores[method] = {name: metrics[name] for name in METRIC_NAMES}
    return scores


def method_columns(validation_predictions: pd.DataFrame) -> list[str]:
    """The methods of a validation predictions table (every column but ``row_id``, ``label``):
    the measured methods, under their own names."""
    return [
        column for column in validation_predictions.columns if column not in ("row_id", "label")
    ]


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def results_table(
    results: Mapping[str, Mapping[str, float]], choice: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The results table: Table 1's rows with the paper's figures beside ours, then the extras.

    Args:
        results: ``{method: {"macro_f1", "weighted_f1", "accuracy"}}`` (fractions).
        choice: The ``headline_choice``: headline row → the method chosen for it.

    Returns:
        One row per method: ``method`` (Table 1 label or our name), ``key`` (our name),
        ``chosen`` (the method a headline row shows, else empty), ``paper_phase1_macro_f1``,
        ``paper_phase2_macro_f1`` (online test set, %), and ours on validation in %:
        ``macro_f1``, ``weighted_f1``, ``accuracy``.
    """
    choice = choice or {}
    rows = []
    keys = [name for name in HEADLINE_METHODS if name in results]
    keys += [name for name in results if name not in HEADLINE_METHODS]
    for key in keys:
        phase1, phase2 = PAPER_MACRO_F1.get(key, (None, None))
        rows.append(
            {
                "method": HEADLINE_METHODS.get(key, key),
                "key": key,
                "chosen": choice.get(key),
                "paper_phase1_macro_f1": phase1,
                "paper_phase2_macro_f1": phase2,
                **{name: _percent(results[key].get(name)) for name in METRIC_NAMES},
            }
        )
    columns = ["method", "key", "chosen", "paper_phase1_macro_f1", "paper_phase2_macro_f1",
               *METRIC_NAMES]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def results_markdown(table: pd.DataFrame, source: str = "") -> str:
    """Renders ``results_table`` as a Markdown table with a caption that says what is compared.

    Args:
        table: The output of ``results_table``.
        source: The data source the run used (``demo``, ``challengedata``, ``sigir``), shown
            in the caption.

    Returns:
        Markdown text.
    """
    header = (
        "| Method | Paper phase 1 | Paper phase 2 | Ours macro-F1 | Ours weighted-F1 "
        "| Ours accuracy |\n|---|---:|---:|---:|---:|---:|"
    )
    lines = []
    for row in table.itertuples(index=False):
        # Table 1's rows keep the paper's labels (and name the method chosen for them); our
        # other methods show their own names.
        label = row.method if row.method != row.key else f"`{row.key}`"
        if isinstance(row.chosen, str):
            label += f" (`{row.chosen}`)"
        cells = [
            row.paper_phase1_macro_f1,
            row.paper_phase2_macro_f1,
            row.macro_f1,
            row.weighted_f1,
            row.accuracy,
        ]
        lines.append("| " + " | ".join([label, *(_cell(cell) for cell in cells)]) + " |")
    on = f" ({source} data)" if source else ""
    caption = (
        "Macro-F1 (%). *Paper*: Table 1 of Bi et al. (2020), online scores on the challenge "
        f"test set. *Ours*: the validation split{on}; fusion and ensemble are scored "
        "out-of-fold (each row predicted by networks that never trained on it)."
    )
    if table["chosen"].notna().any():
        caption += (
            " Table 1's text, image, feature-level and decision-level rows show the text "
            "variant, image variant, feature fusion mode and ensemble member with the best "
            "validation macro-F1 (named in brackets; ties: the first declared), each also on "
            "its own row."
        )
    return "\n".join([caption, "", header, *lines, ""])
