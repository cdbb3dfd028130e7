"""The image_model pipeline: one namespaced copy per image model variant.

A variant is a parameters block (``conf/*/parameters_image_model.yml``) and an entry of
:data:`VARIANTS` naming the training ids it learns from; its outputs are
``{variant}.val_probs``, ``{variant}.test_probs``, ``{variant}.val_features``,
``{variant}.test_features``, ``{variant}.metrics`` and ``{variant}.image_model``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.pipelines.image_model.nodes import (
    check_image_weights,
    list_training_ids,
    predict_image_model,
    score_image_model,
    train_first_stage,
    train_second_stage,
)
from rakuten_kedro.preflight import PREFLIGHT_TAG

#: Variant name → catalog entry of the training ids it learns from: ``clean_training_ids``
#: (the denoising pipeline's output) or ``all_training_ids`` (every training product).
VARIANTS: dict[str, str] = {
    "image_dcl_clean": "clean_training_ids",
    "image_plain_noisy": "all_training_ids",
}
#: Inputs shared by every variant.
SHARED_INPUTS = {
    "products", "test_products", "label_encoding", "image_cache", "test_image_cache", "checkpoints"
}  # fmt: skip


def _bind(func: Callable, variant: str) -> Callable:
    # A named partial, so that logs and kedro-viz show the function's own name.
    return update_wrapper(partial(func, variant=variant), func)


def variant_pipeline(variant: str, training_ids: str) -> Pipeline:
    """Train (two stages), predict and score one image variant under the namespace ``variant``.

    Args:
        variant: The namespace (and parameters block) name.
        training_ids: Catalog entry of the training row ids.

    Returns:
        The namespaced pipeline.
    """
    nodes = [
        Node(
            _bind(check_image_weights, variant),
            "params:model",
            "initial_weights",
            name="check_image_weights_node",
            tags={PREFLIGHT_TAG},
        ),
        Node(
            _bind(train_first_stage, variant),
            [
                "initial_weights",
                "products",
                "training_ids",
                "image_cache",
                "label_encoding",
                "params:model",
                "params:stage1",
                "params:augment",
                "params:run",
                "checkpoints",
            ],
            ["stage1_model", "stage1_summary"],
            name="train_first_stage_node",
        ),
        Node(
            _bind(train_second_stage, variant),
            [
                "stage1_model",
                "products",
                "training_ids",
                "image_cache",
                "params:stage2",
                "params:augment",
                "params:run",
                "checkpoints",
            ],
            ["image_model", "stage2_summary"],
            name="train_second_stage_node",
        ),
        Node(
            predict_image_model,
            [
                "image_model",
                "products",
                "test_products",
                "image_cache",
                "test_image_cache",
                "label_encoding",
                "params:stage1",
                "params:stage2",
                "params:augment",
                "params:run",
            ],
            ["val_probs", "val_features", "test_probs", "test_features"],
            name="predict_image_model_node",
        ),
        Node(
            score_image_model,
            ["val_probs", "products", "label_encoding", "stage1_summary", "stage2_summary"],
            "metrics",
            name="score_image_model_node",
        ),
    ]
    return Pipeline(
        nodes,
        namespace=variant,
        inputs={**{name: name for name in SHARED_INPUTS}, "training_ids": training_ids},
    )


def create_pipeline(variants: Mapping[str, str] | None = None, **kwargs) -> Pipeline:
    """Every image model variant, plus the list of all training ids they may share.

    Args:
        variants: Variant name → training ids entry (default :data:`VARIANTS`).
        **kwargs: Ignored (Kedro's ``find_pipelines`` signature).

    Returns:
        The union of the variants' pipelines.
    """
    variants = VARIANTS if variants is None else variants
    shared = Pipeline(
        [
            Node(
                list_training_ids,
                "products",
                "all_training_ids",
                name="list_training_ids_node",
            )
        ]
    )
    return sum(
        (variant_pipeline(name, ids) for name, ids in variants.items()),
        start=shared if "all_training_ids" in variants.values() else Pipeline([]),
    )
