"""The predict pipeline's wiring and its final node (models replaced by fixed probabilities)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.runner import SequentialRunner

from rakuten_kedro.codes import PRDTYPECODE_NAMES, PRDTYPECODES
from rakuten_kedro.datasets import ImageCacheDataset
from rakuten_kedro.datasets.new_products import NewProductsDataset
from rakuten_kedro.datasets.predictions import PredictionsDataset
from rakuten_kedro.hooks import DiscardStalePredictionsHooks
from rakuten_kedro.models.fusion import build_decision_fold_ensemble
from rakuten_kedro.models.image import build_image_classifier
from rakuten_kedro.pipelines.predict import create_pipeline
from rakuten_kedro.pipelines.predict.nodes import (
    describe_models,
    mean_text_probs,
    predict_new_products,
)
from rakuten_kedro.tables import predictions_table, probs_table
from rakuten_kedro.text.tfidf import train_tfidf_classifier
from tests.fixtures import make_products, write_challengedata_folder
from tests.grids import make_grid
from tests.params import params

GRID = make_grid(
    [
        ("m1", "text_transformer", "image_dcl_clean", "two_layer"),
        ("m2", "text_tfidf", "image_dcl_clean", "one_layer"),
    ]
)


def test_pipeline_uses_only_trained_artifacts():
    pipeline = create_pipeline(GRID)
    inputs = pipeline.inputs()
    assert {"m1.fusion_model", "m2.fusion_model", "image_dcl_clean.image_model"} <= inputs
    assert {"text_transformer.text_model", "text_tfidf.tfidf_model", "new_raw_products"} <= inputs
    assert not {"products", "test_products"} & inputs  # nothing from the training data
    # The inference nodes are the model pipelines' own (their features go unused here).
    assert pipeline.outputs() - {"predictions"} == {
        "text_transformer.new_features", "image_dcl_clean.new_features"
    }  # fmt: skip
    assert "text_transformer.predict_new_node" in {node.name for node in pipeline.nodes}
    # The text-only fallback averages every text variant the members use.
    (fallback,) = [node for node in pipeline.nodes if node.name == "mean_text_probs_node"]
    assert fallback.inputs == [
        "new_products", "label_encoding", "text_transformer.new_probs", "text_tfidf.new_probs"
    ]  # fmt: skip


PREDICT = {"input_dir": "new_products", "top_k": 2, "low_confidence_below": 0.5}
ENSEMBLE = {"rule": "soft"}


def predictions(caplog) -> pd.DataFrame:
    new_products = pd.DataFrame({"row_id": [1, 2], "productid": [10, 20], "imageid": [5, 6]})
    cache = SimpleNamespace(issues=pd.DataFrame({"row_id": [2], "problem": ["missing"]}))
    codes = [10, 40, 50]
    votes = predictions_table(np.array([1, 2]), np.array([1, 1]), codes)
    member = probs_table(np.array([1, 2]), np.array([[0.2, 0.7, 0.1], [0.3, 0.4, 0.3]]), codes)
    text = probs_table(np.array([1, 2]), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]), codes)
    with caplog.at_level(logging.WARNING):
        return predict_new_products(
            new_products, cache, {"codes": codes}, PREDICT, ENSEMBLE, "abc", text, votes, member,
            votes, member,
        )  # fmt: skip


def test_predictions_fall_back_to_text_without_a_photo(caplog):
    table = predictions(caplog)
    assert table["prdtypecode"].tolist() == [40, 50]
    assert table["answered_from"].tolist() == ["ensemble", "text_only"]
    assert table["top2_prdtypecode"].tolist() == [10, 10]
    assert "classified from their text only" in caplog.text


def test_without_a_photo_the_answer_is_the_mean_of_the_text_variants(caplog):
    new_products = pd.DataFrame({"row_id": [1, 2], "productid": [10, 20], "imageid": [5, 6]})
    codes = [10, 40, 50]
    # Row 2: one variant answers 10, the other 50; their mean answers 40. Tables in any row order.
    text_a = probs_table(np.array([2, 1]), np.array([[0.5, 0.45, 0.05], [0.6, 0.2, 0.2]]), codes)
    text_b = probs_table(np.array([1, 2]), np.array([[0.2, 0.2, 0.6], [0.05, 0.45, 0.5]]), codes)
    mean = mean_text_probs(new_products, {"codes": codes}, text_a, text_b)
    assert mean["row_id"].tolist() == [1, 2]
    assert np.allclose(mean[["10", "40", "50"]], [[0.4, 0.2, 0.4], [0.275, 0.45, 0.275]])
    cache = SimpleNamespace(issues=pd.DataFrame({"row_id": [2], "problem": ["missing"]}))
    votes = predictions_table(np.array([1, 2]), np.array([2, 2]), codes)
    member = probs_table(np.array([1, 2]), np.array([[0.1, 0.1, 0.8], [0.1, 0.1, 0.8]]), codes)
    table = predict_new_products(
        new_products, cache, {"codes": codes}, PREDICT, ENSEMBLE, "abc", mean, votes, member
    )
    assert table["prdtypecode"].tolist() == [50, 40]
    assert np.allclose(table["probability"], [0.8, 0.45])
    assert table["answered_from"].tolist() == ["ensemble", "text_only"]


def test_predictions_name_each_code_flag_low_confidence_and_say_where_they_come_from(
    caplog, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    table = predictions(caplog)
    assert list(table.columns) == [
        "row_id", "productid", "imageid", "prdtypecode", "category", "probability",
        "top2_prdtypecode", "top2_category", "top2_probability",
        "low_confidence", "answered_from", "input_dir", "models",
    ]  # fmt: skip
    assert table["category"].tolist() == ["imported video games", "gaming accessories"]
    assert table["top2_category"].tolist() == ["used books", "used books"]
    assert np.allclose(table["probability"], [0.7, 0.8])
    assert table["low_confidence"].tolist() == [False, False]
    probs = probs_table(np.array([1]), np.array([[0.4, 0.3, 0.3]]), [10, 40, 50])
    low = predict_new_products(
        pd.DataFrame({"row_id": [1], "productid": [10], "imageid": [5]}),
        SimpleNamespace(issues=pd.DataFrame()),
        {"codes": [10, 40, 50]},
        PREDICT,
        ENSEMBLE,
        "abc",
        probs,
        predictions_table(np.array([1]), np.array([0]), [10, 40, 50]),
        probs,
    )
    assert low["low_confidence"].tolist() == [True]
    assert set(table["input_dir"]) == {str(tmp_path / "new_products")}
    assert table["models"].tolist() == ["abc", "abc"]  # describe_models' digest on every row


def test_the_models_digest_changes_with_any_model():
    first, second = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = describe_models(first, second)
    assert describe_models(first, second) == before
    with torch.no_grad():
        second.bias.add_(1e-3)
    assert describe_models(first, second) != before


# -- the whole pipeline on a folder, with small untrained stand-ins for the trained models -----

TINY_GRID = make_grid([("m1", "text_tfidf", "image_x", "one_layer")])


def tiny_catalog(input_dir: Path, tmp_path: Path) -> DataCatalog:
    train = make_products(2)
    tfidf = train_tfidf_classifier(
        pd.DataFrame(
            {
                "title": train["designation"],
                "description": train["description"].fillna(""),
                "label": np.arange(len(train)) % 27,
            }
        ),
        params("text_tfidf.model", min_df=1, max_iter=200),
    )
    memory = {
        "label_encoding": {"codes": list(PRDTYPECODES)},
        "text_tfidf.tfidf_model": tfidf,
        "image_x.image_model": build_image_classifier(params("image_dcl_clean.model"), 27),
        "m1.fusion_model": build_decision_fold_ensemble(num_folds=2),
        "params:preprocessing.image_cache": params("preprocessing.image_cache", sizes=[32]),
        "params:image_x.stage1": params(
            "image_dcl_clean.stage1", cache_size=32, input_size=32, batch_size=8
        ),
        "params:image_x.stage2": params("image_dcl_clean.stage2", enabled=False),
        "params:image_x.augment": params("image_dcl_clean.augment"),
        "params:image_x.run": params(
            "image_dcl_clean.run", cpu=True, progress=False, mixed_precision="no"
        ),
        "params:predict": params("predict", input_dir=str(input_dir)),
        "params:ensemble": params("ensemble"),
    }
    return DataCatalog(
        datasets={
            **{name: MemoryDataset(value, copy_mode="assign") for name, value in memory.items()},
            "new_raw_products": NewProductsDataset(input_dir=str(input_dir)),
            "new_image_cache": ImageCacheDataset(path=str(tmp_path / "cache")),
            "predictions": PredictionsDataset(filepath=str(tmp_path / "predictions.csv")),
        }
    )


def run_predict(input_dir: Path, tmp_path: Path) -> None:
    pipeline = create_pipeline(TINY_GRID)
    catalog = tiny_catalog(input_dir, tmp_path)
    DiscardStalePredictionsHooks().before_pipeline_run(pipeline=pipeline, catalog=catalog)
    SequentialRunner().run(pipeline, catalog)


@pytest.fixture
def stale_predictions(tmp_path: Path) -> Path:
    path = tmp_path / "predictions.csv"
    path.write_text("row_id,prdtypecode\n1,10\n")  # from an earlier run on another folder
    return path


def test_a_predict_run_writes_one_named_table_that_says_where_it_comes_from(
    tmp_path, stale_predictions, one_torch_thread
):
    folder = write_challengedata_folder(tmp_path / "new", n_per_code=1, n_test=6)
    run_predict(folder, tmp_path)
    table = pd.read_csv(stale_predictions)
    assert table["row_id"].tolist() == list(range(27, 33))
    assert table["category"].tolist() == [PRDTYPECODE_NAMES[c] for c in table["prdtypecode"]]
    assert table["answered_from"].eq("ensemble").all()
    assert set(table["input_dir"]) == {str(folder)}
    assert table["models"].nunique() == 1 and re.fullmatch(r"[0-9a-f]{32}", table["models"][0])


def test_a_failed_predict_run_leaves_no_predictions(tmp_path, stale_predictions):
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "products.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"products.csv is empty \(0 bytes\)"):
        run_predict(folder, tmp_path)
    assert not stale_predictions.exists()
