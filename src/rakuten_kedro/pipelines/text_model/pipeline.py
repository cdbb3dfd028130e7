"""The text_model pipeline: one namespaced copy per text model variant.

A variant is a parameters block (``conf/*/parameters_text_model.yml``) and a name in one of the
lists below; its outputs are ``{variant}.val_probs``, ``{variant}.test_probs``,
``{variant}.metrics`` and, for transformers, ``{variant}.val_features``,
``{variant}.test_features`` and ``{variant}.text_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.pipelines.text_model.nodes import (
    check_text_encoder,
    predict_text_transformer,
    predict_tfidf,
    score_validation,
    train_text_transformer,
    train_tfidf,
)
from rakuten_kedro.preflight import PREFLIGHT_TAG

#: Transformer variants (each needs a block of the same name in the parameters).
TRANSFORMER_VARIANTS = ("text_transformer",)
#: TF-IDF baseline variants.
TFIDF_VARIANTS = ("text_tfidf",)
#: Inputs shared by every variant (outputs of the preprocessing pipeline).
SHARED_INPUTS = {"products", "test_products", "label_encoding", "checkpoints"}


def _bind(func: Callable, variant: str) -> Callable:
    # A named partial, so that logs and kedro-viz show the function's own name.
    return update_wrapper(partial(func, variant=variant), func)


def transformer_pipeline(variant: str) -> Pipeline:
    """Train, predict and score one transformer variant under the namespace ``variant``."""
    nodes = [
        Node(
            _bind(check_text_encoder, variant),
            "params:model",
            "encoder_source",
            name="check_text_encoder_node",
            tags={PREFLIGHT_TAG},
        ),
        Node(
            _bind(train_text_transformer, variant),
            [
                "products",
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
            predict_text_transformer,
            ["text_model", "products", "test_products", "params:training"],
            ["val_probs", "val_features", "test_probs", "test_features"],
            name="predict_text_transformer_node",
        ),
        Node(
            score_validation,
            ["val_probs", "products", "label_encoding"],
            "metrics",
            name="score_text_transformer_node",
        ),
    ]
    return Pipeline(nodes, namespace=variant, inputs=SHARED_INPUTS)


def tfidf_pipeline(variant: str) -> Pipeline:
    """Train, predict and score one TF-IDF baseline variant under the namespace ``variant``."""
    nodes = [
        Node(
            _bind(train_tfidf, variant),
            ["products", "label_encoding", "params:model", "checkpoints"],
            "tfidf_model",
            name="train_tfidf_node",
        ),
        Node(
            predict_tfidf,
            ["tfidf_model", "products", "test_products", "label_encoding"],
            ["val_probs", "test_probs"],
            name="predict_tfidf_node",
        ),
        Node(
            score_validation,
            ["val_probs", "products", "label_encoding"],
            "metrics",
            name="score_tfidf_node",
        ),
    ]
    return Pipeline(nodes, namespace=variant, inputs=SHARED_INPUTS)


def create_pipeline(
    transformer_variants: tuple[str, ...] = TRANSFORMER_VARIANTS,
    tfidf_variants: tuple[str, ...] = TFIDF_VARIANTS,
    **kwargs,
) -> Pipeline:
    """Every text model variant.

    Args:
        transformer_variants: Names of the transformer variants.
        tfidf_variants: Names of the TF-IDF variants.
        **kwargs: Ignored (Kedro's ``find_pipelines`` signature).

    Returns:
        The union of the variants' pipelines.
    """
    pipelines = [transformer_pipeline(name) for name in transformer_variants]
    pipelines += [tfidf_pipeline(name) for name in tfidf_variants]
    return sum(pipelines, start=Pipeline([]))
