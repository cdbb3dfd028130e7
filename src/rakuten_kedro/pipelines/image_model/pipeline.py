"""The image_model pipeline: one namespaced copy per image variant of the grid.

A variant is an entry of ``grid.image`` (``conf/<env>/parameters_grid.yml``: the training ids
it learns from, DCL on/off) and a parameters block of the same name
(``parameters_image_model.yml``); its outputs are
``{variant}.val_probs``, ``{variant}.test_probs``, ``{variant}.val_features``,
``{variant}.test_features``, ``{variant}.metrics`` and ``{variant}.image_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.grid import Grid, ImageVariant
from rakuten_kedro.pipelines.image_model.nodes import (
    check_image_weights,
    list_training_ids,
    predict_image_model,
    score_image_model,
    train_first_stage,
    train_second_stage,
)
from rakuten_kedro.preflight import PREFLIGHT_TAG

#: Inputs shared by every variant.
SHARED_INPUTS = {"products", "label_encoding", "image_cache", "checkpoints"}

#: The rows each variant predicts at training time: split → (rows, the cache of their photos).
SPLITS = {
    "val": ("validation_products", "image_cache"),
    "test": ("test_products", "test_image_cache"),
}


def _bind(func: Callable, variant: str) -> Callable:
    # A named partial, so that logs and kedro-viz show the function's own name.
    return update_wrapper(partial(func, variant=variant), func)


def variant_pipeline(image: ImageVariant) -> Pipeline:
    """Train (two stages), predict and score one image variant under its namespace.

    Args:
        image: The variant (namespace and parameters block name, training ids, DCL on/off).

    Returns:
        The namespaced pipeline.
    """
    variant = image.name
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
            update_wrapper(
                partial(train_second_stage, variant=variant, dcl=image.dcl), train_second_stage
            ),
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
            score_image_model,
            ["val_probs", "products", "label_encoding", "stage1_summary", "stage2_summary"],
            "metrics",
            name="score_image_model_node",
        ),
    ]
    training = Pipeline(
        nodes,
        namespace=variant,
        inputs={
            **{name: name for name in SHARED_INPUTS},
            "training_ids": image.training_ids_dataset,
        },
    )
    return training + sum(
        (image_inference(variant, rows, cache, split) for split, (rows, cache) in SPLITS.items()),
        start=Pipeline([]),
    )


def image_inference(variant: str, rows: str, image_cache: str, split: str) -> Pipeline:
    """Probabilities and features of the rows ``rows`` (photos in ``image_cache``) by variant
    ``variant``'s trained model: ``{variant}.{split}_probs`` and ``{variant}.{split}_features``.
    Training predicts its validation and test rows with it; the predict pipeline, new products.
    """
    return Pipeline(
        [
            Node(
                predict_image_model,
                [
                    "image_model",
                    rows,
                    image_cache,
                    "label_encoding",
                    "params:stage1",
                    "params:stage2",
                    "params:augment",
                    "params:run",
                ],
                [f"{split}_probs", f"{split}_features"],
                name=f"predict_{split}_node",
            )
        ],
        namespace=variant,
        inputs={rows, image_cache, "label_encoding"},
    )


def create_pipeline(grid: Grid) -> Pipeline:
    """Every image variant of the grid (``grid.image``), plus the list of all training ids.

    Args:
        grid: The experiment grid of the environment.

    Returns:
        The union of the variants' pipelines.
    """
    shared = Pipeline(
        [Node(list_training_ids, "products", "all_training_ids", name="list_training_ids_node")]
    )
    return sum((variant_pipeline(variant) for variant in grid.image), start=shared)
