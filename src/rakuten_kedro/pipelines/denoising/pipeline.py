"""The denoising pipeline: k-fold image (+ TF-IDF) models → cleanlab → label issues, clean ids.

Outputs: ``denoising_oof_probs``, ``denoising_text_oof_probs`` (empty unless
``denoising.probabilities: image_and_text``), ``label_issues``
(``data/03_primary/label_issues.csv``),
``clean_training_ids`` (read by the ``image_model`` variants trained on clean data),
``label_issues_figure`` and ``denoising_metrics`` (scored against the demo's injected flips).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.pipelines.denoising.nodes import (
    check_denoising_weights,
    cross_validate_image_model,
    cross_validate_text_model,
    find_label_issues,
    plot_label_issues,
    score_denoising,
    select_clean_training_ids,
)
from rakuten_kedro.preflight import PREFLIGHT_TAG


def create_pipeline(**kwargs) -> Pipeline:
    """The denoising pipeline.

    Args:
        **kwargs: Ignored (Kedro's ``find_pipelines`` signature).

    Returns:
        The pipeline.
    """
    return Pipeline(
        [
            Node(
                func=check_denoising_weights,
                inputs="params:denoising",
                outputs="denoising_initial_weights",
                name="check_denoising_weights_node",
                tags={PREFLIGHT_TAG},
            ),
            Node(
                func=cross_validate_image_model,
                inputs=[
                    "denoising_initial_weights",
                    "products",
                    "image_cache",
                    "label_encoding",
                    "params:denoising",
                    "checkpoints",
                ],
                outputs="denoising_oof_probs",
                name="cross_validate_image_model_node",
            ),
            Node(
                func=cross_validate_text_model,
                inputs=[
                    "products",
                    "label_encoding",
                    "params:denoising",
                    "params:text_tfidf.model",
                ],
                outputs="denoising_text_oof_probs",
                name="cross_validate_text_model_node",
            ),
            Node(
                func=find_label_issues,
                inputs=[
                    "products",
                    "denoising_oof_probs",
                    "denoising_text_oof_probs",
                    "label_encoding",
                    "params:denoising",
                ],
                outputs="label_issues",
                name="find_label_issues_node",
            ),
            Node(
                func=select_clean_training_ids,
                inputs=["products", "label_issues"],
                outputs="clean_training_ids",
                name="select_clean_training_ids_node",
            ),
            Node(
                func=plot_label_issues,
                inputs=["label_issues", "image_cache", "params:denoising"],
                outputs="label_issues_figure",
                name="plot_label_issues_node",
            ),
            Node(
                func=score_denoising,
                inputs=["label_issues", "products", "demo_label_noise", "params:denoising"],
                outputs="denoising_metrics",
                name="score_denoising_node",
            ),
        ]
    )
