"""The reporting pipeline: every method scored on validation, the table and the figures.

Every text variant, image variant and ensemble member is scored under its own name, as are the
ensemble and the baselines (``stacking_logreg``, ``feature_fusion_{concat,sum,attention}``).
The headline ``text``, ``image``, ``decision_fusion`` and ``feature_fusion`` rows are then the
text variant, image variant, member and feature fusion mode with the best validation macro-F1
(ties: the first declared; ``rakuten_kedro.reporting.headline``), and ``headline_choice``
(``data/08_reporting/headline_choice.json``) records which.
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
    """Method name → the dataset holding its validation predictions: every text variant,
    image variant and member of ``grid`` under its own name, then the ensemble and the
    baselines (the headline rows are chosen from these once scored)."""
    names = [variant.name for variant in (*grid.text, *grid.image)]
    names += [member.name for member in grid.members]
    sources = {name: f"{name}.val_probs" for name in names}
    sources["ensemble"] = "ensemble.val_predictions"
    baselines = ["stacking_logreg", *(f"feature_fusion_{mode}" for mode in FEATURE_FUSION_MODES)]
    return sources | {name: f"{name}.val_probs" for name in baselines}


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
                inputs=["validation_predictions", "label_encoding", "params:grid"],
                outputs=["results", "headline_choice"],
                name="score_methods_node",
            ),
            Node(
                make_results_table,
                inputs=["results", "headline_choice"],
                outputs=["results_table", "results_table_markdown"],
                name="make_results_table_node",
            ),
            Node(
                plot_methods,
                inputs=["results", "headline_choice"],
                outputs="methods_chart",
                name="plot_methods_node",
            ),
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
                    "headline_choice": "headline_choice",
                    "validation_predictions": "validation_predictions",
                    "label_encoding": "label_encoding",
                    "grid": "params:grid",
                    "options": "params:model_card",
                    "ensemble": "params:ensemble",
                    "decisions": "params:fusion.decisions",
                    **({"denoising_metrics": "denoising_metrics"} if grid.uses_denoising else {}),
                    **{image.name: f"{image.name}.metrics" for image in grid.image},
                },
                outputs="model_card",
                name="write_model_card_node",
            ),
        ]
    )
