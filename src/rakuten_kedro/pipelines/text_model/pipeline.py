"""The text_model pipeline: one namespaced copy per text variant of the grid.

A variant is an entry of ``grid.text`` (``conf/<env>/parameters_grid.yml``) and a parameters
block of the same name (``parameters_text_model.yml``). A variant with ``training_ids: denoised``
learns from the training products the denoising pipeline keeps (``clean_training_ids``; its
``training_products``), one with ``all`` from every product. Its outputs are
``{variant}.val_probs``, ``{variant}.test_probs``, ``{variant}.metrics`` and, for transformers,
``{variant}.val_features``, ``{variant}.test_features`` and ``{variant}.text_model``
(``{variant}.tfidf_model`` for TF-IDF).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.grid import Grid, TextVariant
from rakuten_kedro.pipelines.text_model.nodes import (
    check_text_encoder,
    predict_text_transformer,
    predict_tfidf,
    score_validation,
    train_text_transformer,
    train_tfidf,
)
from rakuten_kedro.preflight import PREFLIGHT_TAG
from rakuten_kedro.tables import keep_training_rows

#: Inputs shared by every variant (outputs of the preprocessing pipeline).
SHARED_INPUTS = {"products", "label_encoding", "checkpoints"}


def _bind(func: Callable, variant: str) -> Callable:
    # A named partial, so that logs and kedro-viz show the function's own name.
    return update_wrapper(partial(func, variant=variant), func)


#: The rows each model pipeline predicts at training time: split name → catalog entry.
TRAINING_SPLITS = {"val": "validation_products", "test": "test_products"}


def transformer_inference(variant: str, rows: str, split: str) -> Pipeline:
    """Probabilities and features of the rows ``rows`` by variant ``variant``'s trained model:
    ``{variant}.{split}_probs`` and ``{variant}.{split}_features``. Training predicts its
    validation and test rows with it; the predict pipeline, new products."""
    return Pipeline(
        [
            Node(
                predict_text_transformer,
                ["text_model", rows, "params:training"],
                [f"{split}_probs", f"{split}_features"],
                name=f"predict_{split}_node",
            )
        ],
        namespace=variant,
        inputs={rows},
    )


def tfidf_inference(variant: str, rows: str, split: str) -> Pipeline:
    """Probabilities of the rows ``rows`` by TF-IDF variant ``variant``:
    ``{variant}.{split}_probs``."""
    return Pipeline(
        [
            Node(
                predict_tfidf,
                ["tfidf_model", rows, "label_encoding"],
                f"{split}_probs",
                name=f"predict_{split}_node",
            )
        ],
        namespace=variant,
        inputs={rows, "label_encoding"},
    )


def training_rows(variant: TextVariant) -> tuple[list[Node], str, set[str]]:
    """The products variant ``variant`` trains on: the nodes that select them (none for
    ``training_ids: all``), the dataset its training node reads and the free inputs."""
    if variant.training_ids == "all":
        return [], "products", set()
    node = Node(
        keep_training_rows,
        ["products", variant.training_ids_dataset],
        "training_products",
        name="keep_training_rows_node",
    )
    return [node], "training_products", {variant.training_ids_dataset}


def transformer_pipeline(variant: TextVariant) -> Pipeline:
    """Train, predict and score one transformer variant under its namespace."""
    selection, training_products, ids = training_rows(variant)
    nodes = [
        *selection,
        Node(
            _bind(check_text_encoder, variant.name),
            "params:model",
            "encoder_source",
            name="check_text_encoder_node",
            tags={PREFLIGHT_TAG},
        ),
        Node(
            _bind(train_text_transformer, variant.name),
            [
                training_products,
                "label_encoding",
                "encoder_source",
                "params:model",
                "params:training",
                "checkpoints",
            ],
            "text_model",
            name="train_text_transformer_node",
        ),
        Node(
            score_validation,
            ["val_probs", "products", "label_encoding"],
            "metrics",
            name="score_text_transformer_node",
        ),
    ]
    return Pipeline(nodes, namespace=variant.name, inputs=SHARED_INPUTS | ids) + sum(
        (
            transformer_inference(variant.name, rows, split)
            for split, rows in TRAINING_SPLITS.items()
        ),
        start=Pipeline([]),
    )


def tfidf_pipeline(variant: TextVariant) -> Pipeline:
    """Train, predict and score one TF-IDF baseline variant under its namespace."""
    selection, training_products, ids = training_rows(variant)
    nodes = [
        *selection,
        Node(
            _bind(train_tfidf, variant.name),
            [training_products, "label_encoding", "params:model", "checkpoints"],
            "tfidf_model",
            name="train_tfidf_node",
        ),
        Node(
            score_validation,
            ["val_probs", "products", "label_encoding"],
            "metrics",
            name="score_tfidf_node",
        ),
    ]
    return Pipeline(nodes, namespace=variant.name, inputs=SHARED_INPUTS | ids) + sum(
        (tfidf_inference(variant.name, rows, split) for split, rows in TRAINING_SPLITS.items()),
        start=Pipeline([]),
    )


def create_pipeline(grid: Grid) -> Pipeline:
    """Every text variant of the grid (``grid.text``), each under its own namespace.

    Args:
        grid: The experiment grid of the environment.

    Returns:
        The union of the variants' pipelines.
    """
    builders = {"transformer": transformer_pipeline, "tfidf": tfidf_pipeline}
    return sum((builders[v.kind](v) for v in grid.text), start=Pipeline([]))
