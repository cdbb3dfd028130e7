"""The predict pipeline: new products → the trained ensemble's codes, top-k, no retraining.

``kedro run --pipelines predict --params "predict.input_dir=/folder"`` reads the folder
(``NewProductsDataset``: either Rakuten layout, or a CSV and photos), cleans the text as the
preprocessing does, decodes the photos at the training sizes, and applies the trained models
through the model pipelines' own inference nodes, with the new products in place of the
validation and test rows: every text and image variant the members use, each member's fold
networks, then the members' vote; a product without a usable photo gets the mean of the text
variants' probabilities instead (``new_text_only_probs``). It writes ``predictions``
(``data/07_model_output/predictions.csv``, with the input folder and a digest of the models on
every row).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rakuten_kedro.grid import Grid, TextVariant
from rakuten_kedro.pipelines.fusion.pipeline import member_inference
from rakuten_kedro.pipelines.image_model.pipeline import image_inference
from rakuten_kedro.pipelines.predict.nodes import (
    describe_models,
    describe_new_photos,
    mean_text_probs,
    predict_new_products,
)
from rakuten_kedro.pipelines.preprocessing.nodes import clean_products
from rakuten_kedro.pipelines.text_model.pipeline import tfidf_inference, transformer_inference

#: The split name of the new products in the inference nodes' outputs (``{name}.new_probs``).
NEW = "new"


def _text_inference(text: TextVariant) -> Pipeline:
    if text.kind == "tfidf":
        return tfidf_inference(text.name, "new_products", NEW)
    return transformer_inference(text.name, "new_products", NEW)


def _text_model(text: TextVariant) -> str:
    return f"{text.name}.{'tfidf_model' if text.kind == 'tfidf' else 'text_model'}"


def create_pipeline(grid: Grid) -> Pipeline:
    """Classify the products of ``predict.input_dir`` with the trained ensemble.

    Args:
        grid: The experiment grid of the environment (its members vote).

    Returns:
        The predict pipeline.
    """
    members, texts, images = grid.members, grid.used_text(), grid.used_image()
    models = [_text_model(text) for text in texts]
    models += [f"{image.name}.image_model" for image in images]
    models += [f"{member.name}.fusion_model" for member in members]
    inference = sum(
        [
            *(_text_inference(text) for text in texts),
            *(image_inference(image.name, "new_products", "new_image_cache", NEW)
              for image in images),
            *(member_inference(member, NEW) for member in members),
        ],
        start=Pipeline([]),
    )  # fmt: skip
    reading = Pipeline(
        [
            Node(
                clean_products, "new_raw_products", "new_products", name="clean_new_products_node"
            ),
            Node(
                describe_new_photos,
                ["new_products", "params:preprocessing.image_cache"],
                "new_image_cache",
                name="decode_new_photos_node",
            ),
        ]
    )
    answering = Pipeline(
        [
            Node(describe_models, models, "new_models_digest", name="describe_models_node"),
            Node(
                mean_text_probs,
                ["new_products", "label_encoding", *(f"{t.name}.{NEW}_probs" for t in texts)],
                "new_text_only_probs",
                name="mean_text_probs_node",
            ),
            Node(
                predict_new_products,
                [
                    "new_products",
                    "new_image_cache",
                    "label_encoding",
                    "params:predict",
                    "params:ensemble",
                    "new_models_digest",
                    "new_text_only_probs",
                    *(
                        f"{m.name}.{NEW}_{kind}"
                        for m in members
                        for kind in ("predictions", "probs")
                    ),
                ],
                "predictions",
                name="predict_new_products_node",
            ),
        ]
    )
    return Pipeline(reading + inference + answering, tags="predict")
