"""The predict pipeline's wiring and its final node (models replaced by fixed probabilities)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd

from rakuten_kedro.fusion.members import EnsembleMember
from rakuten_kedro.pipelines.predict import create_pipeline
from rakuten_kedro.pipelines.predict.nodes import predict_new_products

MEMBERS = [
    EnsembleMember("m1", "text_transformer", "image_dcl_clean", "two_layer"),
    EnsembleMember("m2", "text_tfidf", "image_dcl_clean", "one_layer"),
]


def test_pipeline_uses_only_trained_artifacts():
    pipeline = create_pipeline(members=MEMBERS)
    inputs = pipeline.inputs()
    assert {"m1.fusion_model", "m2.fusion_model", "image_dcl_clean.image_model"} <= inputs
    assert {"text_transformer.text_model", "text_tfidf.tfidf_model", "new_raw_products"} <= inputs
    assert not {"products", "test_products"} & inputs  # nothing from the training data
    assert pipeline.outputs() == {"predictions"}


def test_predictions_fall_back_to_text_without_a_photo(caplog):
    new_products = pd.DataFrame({"row_id": [1, 2], "productid": [10, 20], "imageid": [5, 6]})
    cache = SimpleNamespace(issues=pd.DataFrame({"row_id": [2], "problem": ["missing"]}))
    member = {"votes": np.array([1, 1]), "probs": np.array([[0.2, 0.7, 0.1], [0.3, 0.4, 0.3]])}
    text = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    with caplog.at_level(logging.WARNING):
        table = predict_new_products(
            new_products, cache, {"codes": [10, 40, 50]}, {"top_k": 2}, text, member, member
        )
    assert table["prdtypecode"].tolist() == [40, 50]
    assert table["answered_from"].tolist() == ["ensemble", "text_only"]
    assert table["top2_prdtypecode"].tolist() == [10, 10]
    assert "classified from their text only" in caplog.text
