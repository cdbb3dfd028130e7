"""The reporting pipeline: every method scored on validation, the table and the figures.

The headline ``text``, ``image`` and ``decision_fusion`` are the headline member's text variant,
image variant and fusion (``grid.headline``); ``feature_fusion`` is the best
feature-level fusion mode; extras keep their own names (``text_tfidf``, ``stacking_logreg``, …).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.grid import Grid
from rakuten_kedro.models.fusion import FEATURE_FUSION_MODES
from rakuten_kedro.pipelines.reporting.nodes import (
    collect_validation_predictions,
    make_results_table,
    plot_best_method,
    plot_methods,
    score_validation_predictions,
    write_model_card,
)


def method_sources(grid: Grid) -> dict[str, str]:
    """Method name in ``results.json`` → the dataset holding its validation predictions.

    Args:
        grid: The experiment grid (its headline member gives ``text``, ``image`` and
            ``decision_fusion``).

    Returns:
        The mapping, headline methods first.
    """
    members, headline = grid.members, grid.headline_member
    sources = {
        "image": f"{headline.image}.val_probs",
        "text": f"{headline.text}.val_probs",
        "decision_fusion": f"{headline.name}.val_probs",
        "ensemble": "ensemble.val_predictions",
    }
    extras = [m.text for m in members] + [m.image for m in members] + [m.name for m in members]
    extras += ["stacking_logreg"] + [f"feature_fusion_{mode}" for mode in FEATURE_FUSION_MODES]
    for name in extras:
        dataset = f"{name}.val_probs"
        if dataset not in sources.values():
            sources[name] = dataset
    return sources


def create_pipeline(grid: Grid) -> Pipeline:
    """Collect every method's validation predictions, score them, tabulate and plot.

    Args:
        grid: The experiment grid of the environment.

    Returns:
        The reporting pipeline.
    """
    return Pipeline(
        [
            Node(
                collect_validation_predictions,
                inputs={
                    "products": "products",
                    "label_encoding": "label_encoding",
                    **method_sources(grid),
                },
                outputs="validation_predictions",
                name="collect_validation_predictions_node",
            ),
            Node(
                score_validation_predictions,
                inputs=["validation_predictions", "label_encoding"],
                outputs="results",
                name="score_methods_node",
            ),
            Node(
                make_results_table,
                inputs="results",
                outputs=["results_table", "results_table_markdown"],
                name="make_results_table_node",
            ),
            Node(plot_methods, inputs="results", outputs="methods_chart", name="plot_methods_node"),
            Node(
                plot_best_method,
                inputs=["validation_predictions", "results", "label_encoding"],
                outputs=["confusion_matrix_chart", "per_class_f1_chart"],
                name="plot_best_method_node",
            ),
            Node(
                write_model_card,
                inputs={
                    "products": "products",
                    "results": "results",
                    "validation_predictions": "validation_predictions",
                    "label_encoding": "label_encoding",
                    "grid": "params:grid",
                    "options": "params:model_card",
                    "ensemble": "params:ensemble",
                    **({"denoising_metrics": "denoising_metrics"} if grid.uses_denoising else {}),
                    **{image.name: f"{image.name}.metrics" for image in grid.image},
                },
                outputs="model_card",
                name="write_model_card_node",
            ),
        ]
    )
