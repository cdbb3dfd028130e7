"""The text_model pipeline end to end on a few hundred synthetic products."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset

from rakuten_kedro.datasets.checkpoints import CheckpointsDataset
from rakuten_kedro.datasets.hf_model import HFModelDataset
from rakuten_kedro.grid import TextVariant
from rakuten_kedro.pipelines.text_model.pipeline import (
    create_pipeline,
    tfidf_pipeline,
    transformer_pipeline,
)
from rakuten_kedro.text.transformer import predict_texts
from rakuten_kedro.training.checkpoint import load_checkpoint
from tests.grids import make_grid
from tests.params import params
from tests.text.products import (
    CODES,
    TINY_MODEL,
    TINY_TRAINING,
    make_test_products,
    make_text_products,
)

PROBS_COLUMNS = ["row_id", *map(str, CODES)]


def transformer(name: str) -> TextVariant:
    return TextVariant(name, "transformer", "all")


def tfidf(name: str, training_ids: str = "all") -> TextVariant:
    return TextVariant(name, "tfidf", training_ids)


def output_datasets(tmp_path, variant):
    """The variant's outputs stored as in conf/base/catalog.yml (intermediate memory datasets
    would be released by the runner before the test reads them)."""
    tables = ("val_probs", "test_probs", "val_features", "test_features")
    datasets = {
        f"{variant}.{name}": ParquetDataset(filepath=str(tmp_path / variant / f"{name}.parquet"))
        for name in tables
    }
    datasets[f"{variant}.metrics"] = JSONDataset(filepath=str(tmp_path / variant / "metrics.json"))
    return datasets


def make_catalog(tmp_path, products, test_products, variant="text_transformer"):
    return DataCatalog(
        datasets={
            **output_datasets(tmp_path, variant),
            **output_datasets(tmp_path, "text_tfidf"),
            "products": MemoryDataset(products),
            "validation_products": MemoryDataset(products[products["split"] == "val"]),
            "test_products": MemoryDataset(test_products),
            "label_encoding": MemoryDataset({"codes": CODES}),
            f"params:{variant}.model": MemoryDataset(TINY_MODEL),
            f"params:{variant}.training": MemoryDataset(TINY_TRAINING),
            "checkpoints": CheckpointsDataset(path=str(tmp_path / "checkpoints")),
            f"{variant}.text_model": HFModelDataset(filepath=str(tmp_path / "text_model")),
            "params:text_tfidf.model": MemoryDataset(params("text_tfidf.model", min_df=1)),
        }
    )


def test_variants_are_namespaced_and_share_the_preprocessing_outputs():
    pipeline = create_pipeline(
        make_grid([
            ("m1", "text_base", "image_a", "n"),
            ("m2", "text_large", "image_a", "n"),
            ("m3", "text_tfidf", "image_a", "n"),
        ])
    )  # fmt: skip
    outputs = pipeline.all_outputs()
    for variant in ("text_base", "text_large"):
        for name in ("val_probs", "test_probs", "val_features", "test_features", "metrics"):
            assert f"{variant}.{name}" in outputs
        assert f"{variant}.text_model" in pipeline.all_outputs()
    assert {"text_tfidf.val_probs", "text_tfidf.test_probs", "text_tfidf.metrics"} <= outputs
    datasets = {name for name in pipeline.inputs() if not name.startswith("params:")}
    assert datasets == {
        "products", "validation_products", "test_products", "label_encoding", "checkpoints"
    }  # fmt: skip
    assert "params:text_large.training" in pipeline.inputs()
    # The weights check runs before the training that needs them.
    names = [node.name for node in transformer_pipeline(transformer("text_base")).nodes]
    assert names.index("text_base.check_text_encoder_node") < names.index(
        "text_base.train_text_transformer_node"
    )


def test_from_scratch_transformer_end_to_end(tmp_path, caplog):
    products, test_products = make_text_products(250), make_test_products(12)
    catalog = make_catalog(tmp_path, products, test_products)
    SequentialRunner().run(transformer_pipeline(transformer("text_transformer")), catalog)

    val_rows = products[products["split"] == "val"]
    val_probs = catalog.load("text_transformer.val_probs")
    assert list(val_probs.columns) == PROBS_COLUMNS
    assert val_probs["row_id"].tolist() == val_rows["row_id"].tolist()
    np.testing.assert_allclose(val_probs[PROBS_COLUMNS[1:]].sum(axis=1), 1.0, rtol=1e-5)
    test_probs = catalog.load("text_transformer.test_probs")
    assert test_probs["row_id"].tolist() == test_products["row_id"].tolist()
    features = catalog.load("text_transformer.val_features")
    assert list(features.columns) == ["row_id"] + [f"f{i}" for i in range(32)]
    assert catalog.load("text_transformer.test_features").shape == (12, 33)

    metrics = catalog.load("text_transformer.metrics")
    assert metrics["macro_f1"] > 0.6  # chance: 0.2
    assert set(metrics["per_class_f1"]) == set(map(str, CODES))

    history = load_checkpoint(tmp_path / "checkpoints" / "text_transformer")["state"]["history"]
    assert len(history) == TINY_TRAINING["epochs"]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]

    # The saved model reloads and gives the same probabilities.
    reloaded = HFModelDataset(filepath=str(tmp_path / "text_model")).load()
    probs, _ = predict_texts(reloaded, val_rows, TINY_TRAINING)
    np.testing.assert_allclose(probs, val_probs[PROBS_COLUMNS[1:]].to_numpy(), atol=1e-5)

    # Running again continues from the finished checkpoint: no retraining, same outputs.
    catalog = make_catalog(tmp_path, products, test_products)
    with caplog.at_level(logging.INFO):
        SequentialRunner().run(transformer_pipeline(transformer("text_transformer")), catalog)
    assert "not training again" in caplog.text
    assert "tokenizer: reusing" in caplog.text
    again = catalog.load("text_transformer.val_probs")
    np.testing.assert_allclose(again[PROBS_COLUMNS[1:]], val_probs[PROBS_COLUMNS[1:]], atol=1e-5)


def test_tfidf_baseline_outputs(tmp_path):
    products, test_products = make_text_products(250), make_test_products(12)
    catalog = make_catalog(tmp_path, products, test_products)
    SequentialRunner().run(tfidf_pipeline(tfidf("text_tfidf")), catalog)
    val_probs = catalog.load("text_tfidf.val_probs")
    test_probs = catalog.load("text_tfidf.test_probs")
    assert list(val_probs.columns) == list(test_probs.columns) == PROBS_COLUMNS
    assert val_probs.shape == (50, 1 + len(CODES)) and test_probs.shape == (12, 1 + len(CODES))
    assert val_probs.dtypes.iloc[1] == np.float32
    np.testing.assert_allclose(test_probs[PROBS_COLUMNS[1:]].sum(axis=1), 1.0, rtol=1e-5)
    assert catalog.load("text_tfidf.metrics")["macro_f1"] > 0.8


def test_tfidf_gives_zero_probability_to_classes_absent_from_training(tmp_path):
    products = make_text_products(250)
    products = products[~((products["label"] == 4) & (products["split"] == "train"))]
    catalog = make_catalog(tmp_path, products, make_test_products(5))
    SequentialRunner().run(tfidf_pipeline(tfidf("text_tfidf")), catalog)
    val_probs = catalog.load("text_tfidf.val_probs")
    assert (val_probs[str(CODES[4])] == 0).all()
    assert catalog.load("text_tfidf.metrics")["per_class_f1"][str(CODES[4])] == 0.0


def test_a_variant_on_denoised_ids_learns_only_from_the_kept_training_rows(tmp_path):
    products = make_text_products(250)
    train = products[products["split"] == "train"]
    kept = train.loc[train["label"] != 4, ["row_id"]]  # denoising dropped every class-4 row
    catalog = make_catalog(tmp_path, products, make_test_products(5))
    catalog["clean_training_ids"] = MemoryDataset(kept)
    pipeline = tfidf_pipeline(tfidf("text_tfidf", "denoised"))
    assert "clean_training_ids" in pipeline.inputs()
    SequentialRunner().run(pipeline, catalog)
    val_probs = catalog.load("text_tfidf.val_probs")
    assert len(val_probs) == (products["split"] == "val").sum()  # every validation row scored
    assert (val_probs[str(CODES[4])] == 0).all()  # never learnt: its rows were left out
    assert catalog.load("text_tfidf.metrics")["per_class_f1"][str(CODES[4])] == 0.0


def test_a_variant_on_stale_denoised_ids_stops_with_the_ids_named(tmp_path):
    products = make_text_products(50)
    catalog = make_catalog(tmp_path, products, make_test_products(5))
    catalog["clean_training_ids"] = MemoryDataset(
        products.loc[products["split"] == "val", ["row_id"]]
    )
    with pytest.raises(
        ValueError, match="training ids are not training products.*rerun the denoising"
    ):
        SequentialRunner().run(tfidf_pipeline(tfidf("text_tfidf", "denoised")), catalog)


def test_unknown_tfidf_classifier_is_rejected(tmp_path):
    catalog = make_catalog(tmp_path, make_text_products(50), make_test_products(5))
    catalog["params:text_tfidf.model"] = params("text_tfidf.model", classifier="svm")
    with pytest.raises(ValueError, match="classifier: 'svm': Input should be 'sgd' or"):
        SequentialRunner().run(tfidf_pipeline(tfidf("text_tfidf")), catalog)
