"""The predict pipeline: new products → the trained ensemble's codes, top-k, no retraining.

``kedro run --pipelines predict --params "predict.input_dir=/folder"`` reads the folder
(``NewProductsDataset``: either Rakuten layout, or a CSV and photos), cleans the text as the
preprocessing does, decodes the photos at the training sizes, runs every text and image variant
the ensemble members use, each member's saved fold networks, and their vote; it writes
``predictions`` (``data/07_model_output/predictions.csv``, with the input folder and a digest
of the models on every row).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.fusion.members import EnsembleMember, load_members
from rakuten_kedro.pipelines.predict.nodes import (
    describe_new_photos,
    image_probs,
    member_prediction,
    predict_new_products,
    tfidf_probs,
    transformer_probs,
)
from rakuten_kedro.pipelines.preprocessing.nodes import clean_products
from rakuten_kedro.pipelines.text_model.pipeline import TFIDF_VARIANTS


def _outputs(variant: str) -> list[str]:
    return [f"{variant}.new_probs", f"{variant}.model_digest"]


def _text_node(variant: str) -> Node:
    if variant in TFIDF_VARIANTS:
        return Node(
            tfidf_probs,
            [f"{variant}.tfidf_model", "new_products", "label_encoding"],
            _outputs(variant),
            name=f"{variant}_new_probs_node",
        )
    return Node(
        transformer_probs,
        [f"{variant}.text_model", "new_products", f"params:{variant}.training"],
        _outputs(variant),
        name=f"{variant}_new_probs_node",
    )


def _image_node(variant: str) -> Node:
    return Node(
        image_probs,
        [
            f"{variant}.image_model",
            "new_products",
            "new_image_cache",
            f"params:{variant}.stage1",
            f"params:{variant}.stage2",
            f"params:{variant}.augment",
            f"params:{variant}.run",
        ],
        _outputs(variant),
        name=f"{variant}_new_probs_node",
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Classify the products of ``predict.input_dir`` with the trained ensemble.

    Args:
        **kwargs: ``members`` (a list of ``EnsembleMember``) overrides the members read from
            ``ensemble.members`` in the parameters (for tests).

    Returns:
        The predict pipeline.
    """
    members: list[EnsembleMember] = kwargs.get("members") or load_members()
    text_variants = list(dict.fromkeys(member.text for member in members))
    image_variants = list(dict.fromkeys(member.image for member in members))
    nodes = [
        Node(clean_products, "new_raw_products", "new_products", name="clean_new_products_node"),
        Node(
            describe_new_photos,
            ["new_products", "params:preprocessing.image_cache"],
            "new_image_cache",
            name="decode_new_photos_node",
        ),
        *(_text_node(variant) for variant in text_variants),
        *(_image_node(variant) for variant in image_variants),
        *(
            Node(
                member_prediction,
                [
                    f"{m.name}.fusion_model",
                    f"{m.text}.new_probs",
                    f"{m.image}.new_probs",
                    f"{m.text}.model_digest",
                    f"{m.image}.model_digest",
                ],
                f"{m.name}.new_prediction",
                name=f"{m.name}_new_prediction_node",
            )
            for m in members
        ),
        Node(
            predict_new_products,
            [
                "new_products",
                "new_image_cache",
                "label_encoding",
                "params:predict",
                f"{members[0].text}.new_probs",
                *(f"{m.name}.new_prediction" for m in members),
            ],
            "predictions",
            name="predict_new_products_node",
        ),
    ]
    return Pipeline(nodes, tags="predict")
