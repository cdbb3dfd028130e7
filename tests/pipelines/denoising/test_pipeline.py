"""The denoising pipeline end to end on synthetic photos with injected label flips."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from matplotlib.figure import Figure

from rakuten_kedro.datasets.checkpoints import CheckpointsDataset
from rakuten_kedro.datasets.label_noise import LabelNoiseDataset
from rakuten_kedro.pipelines.denoising.nodes import score_denoising
from rakuten_kedro.pipelines.denoising.pipeline import create_pipeline
from rakuten_kedro.vision.denoise import LABEL_ISSUE_COLUMNS
from tests.params import params
from tests.vision.fixtures import CODES, make_image_products

PARAMS = params(
    "denoising",
    folds=3,
    seed=0,
    drop_fraction=0.5,
    figure_top=6,
    augment={"rotation_degrees": 0},
    train={"cache_size": 16, "input_size": 16, "epochs": 3, "batch_size": 16, "lr": 0.003},
    run={"progress": False, "mixed_precision": "no"},
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_catalog(tmp_path, products, cache, truth_dataset):
    # Intermediate results go to files (as in conf/base), so the test can read them back.
    return DataCatalog(
        datasets={
            "label_issues": CSVDataset(
                filepath=str(tmp_path / "label_issues.csv"), save_args={"index": False}
            ),  # fmt: skip
            "denoising_oof_probs": ParquetDataset(filepath=str(tmp_path / "oof.parquet")),
            "products": MemoryDataset(products),
            "image_cache": MemoryDataset(cache, copy_mode="assign"),
            "label_encoding": MemoryDataset({"codes": CODES}),
            "params:denoising": MemoryDataset(PARAMS),
            "checkpoints": CheckpointsDataset(path=str(tmp_path / "checkpoints")),
            "demo_label_noise": truth_dataset,
        }
    )


def test_only_the_scoring_node_reads_the_truth_file():
    pipeline = create_pipeline()
    readers = [node.name for node in pipeline.nodes if "demo_label_noise" in node.inputs]
    assert readers == ["score_denoising_node"]
    assert {"label_issues", "clean_training_ids", "denoising_metrics", "label_issues_figure"} <= (
        pipeline.all_outputs()
    )


def test_denoising_finds_the_injected_flips(tmp_path):
    products, _, cache, _, noise = make_image_products(n_per_class=24, flip_rate=0.15)
    truth_file = tmp_path / "demo_label_noise.csv"
    noise.to_csv(truth_file, index=False)
    catalog = make_catalog(tmp_path, products, cache, LabelNoiseDataset(filepath=str(truth_file)))
    SequentialRunner().run(create_pipeline(), catalog)

    issues = catalog.load("label_issues")
    assert list(issues.columns) == LABEL_ISSUE_COLUMNS
    train = products[products["split"] == "train"]
    assert set(issues["row_id"]) <= set(train["row_id"])
    kept = catalog.load("clean_training_ids")
    dropped = set(issues.loc[issues["dropped"], "row_id"])
    assert set(kept["row_id"]) == set(train["row_id"]) - dropped
    assert len(dropped) == round(0.5 * len(issues)) > 0

    metrics = catalog.load("denoising_metrics")
    assert metrics["truth"] == "demo_label_noise"
    assert metrics["n_flipped"] == int(noise["flipped"].sum())
    # Photos show the true class, so the flags are mostly real flips: far above chance.
    assert metrics["flagged"]["precision"] > 2 * metrics["flip_rate"]
    assert metrics["top_n_flipped"]["precision"] > 2 * metrics["flip_rate"]
    assert isinstance(catalog.load("label_issues_figure"), Figure)
    oof = catalog.load("denoising_oof_probs")
    assert oof["row_id"].tolist() == train["row_id"].tolist()


def test_no_truth_file_means_no_score(tmp_path):
    products, _, _, _, _ = make_image_products(n_per_class=6)
    train = products[products["split"] == "train"]
    issues = pd.DataFrame({"row_id": train["row_id"].head(3), "dropped": [True, False, False]})
    absent = LabelNoiseDataset(filepath=str(tmp_path / "missing.csv")).load()
    assert absent is None
    assert score_denoising(issues, products, absent) == {
        "truth": "none",
        "n_train": len(train),
        "n_flagged": 3,
        "n_dropped": 1,
    }
    other = pd.DataFrame({"row_id": train["row_id"], "productid": 0, "flipped": False})
    assert score_denoising(issues, products, other)["truth"].startswith("none")
