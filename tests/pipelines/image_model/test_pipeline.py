"""The image_model pipeline end to end: two stages (DCL), artifacts reload, training resumes."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import ParquetDataset

import rakuten_kedro.vision.train as train_module
from rakuten_kedro.datasets.checkpoints import CheckpointsDataset
from rakuten_kedro.datasets.torch_model import TorchModelDataset
from rakuten_kedro.grid import ImageVariant, load_grid
from rakuten_kedro.models.image import ResNetClassifier
from rakuten_kedro.pipelines.image_model.nodes import predict_image_model, train_first_stage
from rakuten_kedro.pipelines.image_model.pipeline import create_pipeline, variant_pipeline
from rakuten_kedro.training.checkpoint import load_checkpoint
from tests.params import params
from tests.vision.fixtures import CODES, make_image_products

STAGE1 = params(
    "image_dcl_clean.stage1", cache_size=16, input_size=16, epochs=4, batch_size=16, lr=0.003
)
STAGE2 = params(
    "image_dcl_clean.stage2", enabled=True, cache_size=24, input_size=24, epochs=1, batch_size=16,
    lr=0.001, dcl={"grid": 3, "window": 1},
)  # fmt: skip
AUGMENT = params("image_dcl_clean.augment", rotation_degrees=0)
RUN = params("image_dcl_clean.run", progress=False, mixed_precision="no", seed=0)
PROBS_COLUMNS = ["row_id", *map(str, CODES)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")
PAPER_GRID = load_grid("paper", Path(__file__).resolve().parents[3] / "conf")
DCL_CLEAN = ImageVariant("image_dcl_clean", "denoised", dcl=True)


@pytest.fixture(scope="module")
def data():
    return make_image_products(n_per_class=24, flip_rate=0.0)


def make_catalog(tmp_path, data, variant="image_dcl_clean"):
    products, test_products, cache, test_cache, _ = data
    train_ids = products.loc[products["split"] == "train", ["row_id"]]
    return DataCatalog(
        datasets={
            "products": MemoryDataset(products),
            "validation_products": MemoryDataset(products[products["split"] == "val"]),
            "test_products": MemoryDataset(test_products),
            "image_cache": MemoryDataset(cache, copy_mode="assign"),
            "test_image_cache": MemoryDataset(test_cache, copy_mode="assign"),
            "label_encoding": MemoryDataset({"codes": CODES}),
            "clean_training_ids": MemoryDataset(train_ids.iloc[4:]),  # as if 4 were dropped
            f"params:{variant}.model": MemoryDataset(params(f"{variant}.model")),
            f"params:{variant}.stage1": MemoryDataset(STAGE1),
            f"params:{variant}.stage2": MemoryDataset(STAGE2),
            f"params:{variant}.augment": MemoryDataset(AUGMENT),
            f"params:{variant}.run": MemoryDataset(RUN),
            "checkpoints": CheckpointsDataset(path=str(tmp_path / "checkpoints")),
            # Read back after the run, so kept in a file (the runner frees consumed memory data).
            f"{variant}.val_probs": ParquetDataset(filepath=str(tmp_path / "val_probs.parquet")),
            f"{variant}.image_model": TorchModelDataset(filepath=str(tmp_path / "image_model")),
            f"{variant}.stage1_model": TorchModelDataset(filepath=str(tmp_path / "stage1")),
        }
    )


def test_variants_are_namespaced():
    pipeline = create_pipeline(PAPER_GRID)
    outputs = pipeline.all_outputs()
    for variant in ("image_dcl_clean", "image_plain_noisy"):
        for name in ("val_probs", "test_probs", "val_features", "test_features", "metrics"):
            assert f"{variant}.{name}" in outputs
        assert f"{variant}.image_model" in outputs
    datasets = {name for name in pipeline.inputs() if not name.startswith("params:")}
    assert datasets == {
        "products", "validation_products", "test_products", "label_encoding", "image_cache",
        "test_image_cache",
        "clean_training_ids", "checkpoints",
    }  # fmt: skip
    # The noisy variant learns from every training product, the clean one from denoising's.
    noisy = variant_pipeline(ImageVariant("image_plain_noisy", "all", dcl=False))
    assert "all_training_ids" in noisy.inputs()
    assert "image_plain_noisy.train_second_stage_node" in {n.name for n in noisy.nodes}


def test_two_stage_dcl_end_to_end_and_artifacts_reload(tmp_path, data):
    products, test_products, cache, test_cache, _ = data
    catalog = make_catalog(tmp_path, data)
    SequentialRunner().run(variant_pipeline(DCL_CLEAN), catalog)

    val = products[products["split"] == "val"]
    val_probs = catalog.load("image_dcl_clean.val_probs")
    assert list(val_probs.columns) == PROBS_COLUMNS
    assert val_probs["row_id"].tolist() == val["row_id"].tolist()
    np.testing.assert_allclose(val_probs[PROBS_COLUMNS[1:]].sum(axis=1), 1.0, rtol=1e-5)
    test_probs = catalog.load("image_dcl_clean.test_probs")
    assert test_probs["row_id"].tolist() == test_products["row_id"].tolist()
    features = catalog.load("image_dcl_clean.val_features")
    assert list(features.columns) == ["row_id"] + [f"f{i}" for i in range(512)]

    metrics = catalog.load("image_dcl_clean.metrics")
    assert metrics["macro_f1"] > 0.6  # 4 classes: chance is 0.25
    assert metrics["training"]["stage1"]["n_train"] == (products["split"] == "train").sum() - 4
    assert metrics["training"]["stage2"]["dcl"] is True
    assert len(metrics["training"]["stage2"]["history"]) == 1

    # The saved model (with its DCL heads) reloads and predicts exactly the saved outputs.
    model = catalog.load("image_dcl_clean.image_model")
    assert isinstance(model, ResNetClassifier) and model.dcl_grid == 3
    again = predict_image_model(
        model, products[products["split"] == "val"], cache, {"codes": CODES},
        STAGE1, STAGE2, AUGMENT, RUN,
    )  # fmt: skip
    np.testing.assert_allclose(
        again[0][PROBS_COLUMNS[1:]], val_probs[PROBS_COLUMNS[1:]], rtol=1e-5, atol=1e-6
    )
    assert catalog.load("image_dcl_clean.stage1_model").dcl_grid is None


def test_interrupted_training_resumes(tmp_path, data, monkeypatch, caplog):
    products, _, cache, _, _ = data
    train_ids = products.loc[products["split"] == "train", ["row_id"]]
    stage = {**STAGE1, "epochs": 2}

    def train():
        return train_first_stage(
            "from scratch", products, train_ids, cache, {"codes": CODES},
            params("image_dcl_clean.model"), stage,
            AUGMENT, RUN, tmp_path, variant="v",
        )  # fmt: skip

    real_loss = train_module.plain_loss_fn
    steps_per_epoch = len(train_ids) // 16
    calls = {"n": 0}

    def crashing_loss(augment):
        loss_fn = real_loss(augment)

        def wrapped(model, batch):
            calls["n"] += 1
            if calls["n"] > steps_per_epoch:  # die during the second epoch
                raise KeyboardInterrupt
            return loss_fn(model, batch)

        return wrapped

    monkeypatch.setattr(train_module, "plain_loss_fn", crashing_loss)
    with pytest.raises(KeyboardInterrupt):
        train()
    state = load_checkpoint(tmp_path / "v" / "stage1")
    assert state["state"]["epochs_done"] == 1
    first_epoch = state["state"]["history"][0]

    monkeypatch.setattr(train_module, "plain_loss_fn", real_loss)
    with caplog.at_level(logging.INFO):
        _, summary = train()
    assert "resuming from epoch 2" in caplog.text
    assert [h["epoch"] for h in summary["history"]] == [1, 2]
    assert summary["history"][0]["train_loss"] == first_epoch["train_loss"]


def test_missing_imagenet_weights_stop_the_run_before_any_data_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    pipeline = variant_pipeline(DCL_CLEAN)
    first = pipeline.nodes[0]
    assert first.name == "image_dcl_clean.check_image_weights_node"
    assert first.inputs == ["params:image_dcl_clean.model"]
    with pytest.raises(FileNotFoundError, match=r"resnet152-f82ba261\.pth"):
        first.run({"params:image_dcl_clean.model": {"depth": 152, "weights": "IMAGENET1K_V2"}})
