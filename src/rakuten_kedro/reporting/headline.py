"""The headline rows of ``results.json``, chosen by validation rather than declared.

Table 1's ``text``, ``image`` and ``decision_fusion`` rows are the grid's text variant, image
variant and ensemble member with the best validation macro-F1, and ``feature_fusion`` is the
best feature-level fusion mode (ties: the first declared): a grid names what to train, and the
validation split says which of it to show. Pure functions over scores shaped like
``results.json`` and the ``grid`` parameters, so a notebook can redo the choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rakuten_kedro.reporting.table import FEATURE_FUSION_PREFIX, HEADLINE_METHODS

#: Headline row -> the ``grid`` list whose entries compete for it.
GRID_CANDIDATES: dict[str, str] = {"text": "text", "image": "image", "decision_fusion": "members"}


def best_method(results: Mapping[str, Mapping[str, float]], methods: Iterable[str]) -> str:
    """The method of ``methods`` with the best macro-F1 in ``results``; a tie goes to the
    earliest (``max`` keeps the first maximum), so the declaration order decides."""
    return max(methods, key=lambda method: results[method]["macro_f1"])


def best_validated_method(
    results: Mapping[str, Mapping[str, float]], methods: Sequence[str]
) -> str:
    """The method the figures and the model card show: the best validation macro-F1 among
    ``methods``, a tie going to the ``ensemble`` (what the submission predicts), then to the
    earliest."""
    return best_method(results, sorted(methods, key=lambda method: method != "ensemble"))


def headline_candidates(grid: Mapping[str, Any], methods: Iterable[str]) -> dict[str, list[str]]:
    """The methods that compete for each headline row, in declaration order.

    Args:
        grid: The ``grid`` parameters (``text``, ``image``, ``members``: entries with a name).
        methods: The scored methods (the feature fusion modes among them compete for
            ``feature_fusion``).

    Returns:
        Headline row -> its candidates; a row without candidates is left out.
    """
    candidates = {
        row: [str(entry["name"]) for entry in grid[key]] for row, key in GRID_CANDIDATES.items()
    }
    candidates["feature_fusion"] = [m for m in methods if m.startswith(FEATURE_FUSION_PREFIX)]
    return {row: names for row, names in candidates.items() if names}


def choose_headline(
    scores: Mapping[str, Mapping[str, float]], candidates: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Each headline row's method: its candidate with the best validation macro-F1.

    Args:
        scores: ``{method: {"macro_f1", …}}`` of every candidate, under its own name.
        candidates: Output of :func:`headline_candidates`.

    Returns:
        Headline row -> the chosen method, in Table 1's order (the ``headline_choice``).
    """
    return {
        row: best_method(scores, candidates[row]) for row in HEADLINE_METHODS if row in candidates
    }


def headline_results(
    scores: Mapping[str, Mapping[str, float]], choice: Mapping[str, str]
) -> dict[str, dict[str, float]]:
    """``results.json``: the headline rows first, in Table 1's order, each a copy of its
    chosen method's scores, then every method under its own name (in the given order).

    Args:
        scores: ``{method: {"macro_f1", "weighted_f1", "accuracy"}}`` of every method.
        choice: Output of :func:`choose_headline`.

    Returns:
        ``{method: {"macro_f1", "weighted_f1", "accuracy"}}``.
    """
    rows = {**scores, **{row: scores[method] for row, method in choice.items()}}
    ordered = {row: dict(rows[row]) for row in HEADLINE_METHODS if row in rows}
    ordered.update({name: dict(value) for name, value in scores.items() if name not in ordered})
    return ordered
