"""Fusion → ensemble → reporting, run with Kedro on synthetic model outputs (no training data).

Two text variants and one image variant stand in for the text/image pipelines; the text
variants confuse classes 0/1, the image variant 1/2 and 3/4, so the fusion must beat both.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.datasets.checkpoints import CheckpointsDataset
from rakuten_kedro.datasets.submission import SubmissionDataset
from rakuten_kedro.datasets.torch_model import TorchModelDataset
from rakuten_kedro.pipelines.ensemble import create_pipeline as ensemble_pipeline
from rakuten_kedro.pipelines.fusion import create_pipeline as fusion_pipeline
from rakuten_kedro.pipelines.reporting import create_pipeline as reporting_pipeline
from rakuten_kedro.tables import probs_table
from tests.fusion.synthetic import modality_probs
from tests.grids import make_grid
from tests.params import params

CODES = list(PRDTYPECODES)
GRID = make_grid(
    [
        ("fusion_a_2layer", "text_a", "image_a", "two_layer"),
        ("fusion_b_1layer", "text_b", "image_a", "one_layer"),
        ("fusion_a_1layer", "text_a", "image_a", "one_layer"),
    ]
)
PARAMETERS = {
    "fusion": params(
        "fusion",
        cross_validation={"n_folds": 4},
        training={"epochs": 15, "batch_size": 32},
        stacking={"max_iter": 300},
    ),
    "feature_fusion": params("feature_fusion", proj_dim=8, hidden=16, epochs=3, lr=0.01),
}


class KeptDataset(MemoryDataset):
    """A memory dataset the runner cannot release, so the test can read it after the run."""

    def _release(self) -> None:
        pass


def _params(prefix: str, value) -> dict:
    entries = {f"params:{prefix}": value}
    if isinstance(value, dict):
        for key, child in value.items():
            entries.update(_params(f"{prefix}.{key}", child))
    return entries


def _features(labels: np.ndarray, dim: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(labels), dim)) + rng.normal(size=(27, dim))[labels]
    table = pd.DataFrame(values.astype(np.float32), columns=[f"f{i}" for i in range(dim)])
    table.insert(0, "row_id", np.arange(len(labels)))
    return table


@pytest.fixture(scope="module")
def run_outputs(tmp_path_factory):
    val_labels = np.arange(27 * 16) % 27
    train_labels = np.arange(27 * 2) % 27
    n_val, n_train, n_test = len(val_labels), len(train_labels), 40
    products = (
        pd.DataFrame(
            {
                "row_id": np.arange(n_val + n_train),
                "label": np.concatenate([val_labels, train_labels]),
                "split": ["val"] * n_val + ["train"] * n_train,
            }
        )
        .assign(prdtypecode=lambda table: [CODES[label] for label in table["label"]])
        .sample(frac=1.0, random_state=0)
    )  # the fusion must not rely on table order
    test_row_ids = np.arange(84916, 84916 + n_test)
    test_products = pd.DataFrame(
        {"row_id": test_row_ids, "productid": test_row_ids + 7, "imageid": test_row_ids + 9}
    )
    test_labels = np.arange(n_test) % 27
    text_a, image_a = modality_probs(val_labels, 27, seed=0)
    text_b, _ = modality_probs(val_labels, 27, seed=1)
    test_text, test_image = modality_probs(test_labels, 27, seed=2)
    data = {
        "products": products,
        "test_products": test_products,
        "label_encoding": {"codes": CODES},
        "text_a.val_probs": probs_table(np.arange(n_val), text_a, CODES),
        "text_b.val_probs": probs_table(np.arange(n_val), text_b, CODES),
        "image_a.val_probs": probs_table(np.arange(n_val), image_a, CODES),
        "text_a.test_probs": probs_table(test_row_ids, test_text, CODES),
        "text_b.test_probs": probs_table(test_row_ids, test_text, CODES),
        "image_a.test_probs": probs_table(test_row_ids[::-1], test_image[::-1], CODES),
        "text_a.val_features": _features(val_labels, 12, seed=3),
        "image_a.val_features": _features(val_labels, 6, seed=4),
        **_params("fusion", PARAMETERS["fusion"]),
        **_params("feature_fusion", PARAMETERS["feature_fusion"]),
        # the model card's other sources
        "params:grid": dataclasses.asdict(GRID),
        "params:model_card": {"data_source": "demo", "worst_classes": 3},
        "params:ensemble": {"rule": "soft"},
        "denoising_metrics": {"n_train": n_train, "n_flagged": 5, "n_dropped": 2},
        "image_a.metrics": {"training": {"stage1": {"seconds": 60.0}}},
    }
    datasets = {name: MemoryDataset(value) for name, value in data.items()}
    for name in (
        "methods_chart", "confusion_matrix_chart", "per_class_f1_chart", "results",
        "headline_choice", "results_table", "results_table_markdown", "fusion_folds",
        "fusion_a_2layer.val_probs", "fusion_a_2layer.metrics", "fusion_a_2layer.test_predictions",
        "fusion_a_2layer.fusion_model", "model_card",
    ):  # fmt: skip
        datasets[name] = KeptDataset(copy_mode="assign")
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    datasets["checkpoints"] = CheckpointsDataset(path=str(checkpoints))
    submission_path = tmp_path_factory.mktemp("out") / "submission.csv"
    datasets["submission"] = SubmissionDataset(filepath=str(submission_path), source="demo")
    catalog = DataCatalog(datasets=datasets)
    pipeline = fusion_pipeline(GRID) + ensemble_pipeline(GRID) + reporting_pipeline(GRID)
    SequentialRunner().run(pipeline, catalog)
    return catalog, {"val_labels": val_labels, "test_labels": test_labels, "n_test": n_test}


def test_the_model_card_names_the_data_the_grid_and_the_best_method(run_outputs):
    catalog, _ = run_outputs
    card = catalog.load("model_card")
    results, choice = catalog.load("results"), catalog.load("headline_choice")
    measured = [method for method in results if method not in choice]  # not the headline copies
    assert "Source: `demo`; 486 labelled products: 432 val, 54 train" in card
    assert "`fusion_b_1layer`: `text_b` + `image_a`, network `one_layer`" in card
    assert f"decision fusion = `{choice['decision_fusion']}`" in card
    best = card.split("Worst 3 classes of the best method (`")[1].split("`")[0]
    assert best in measured  # a method with its own predictions, not a headline copy
    assert results[best]["macro_f1"] == max(results[method]["macro_f1"] for method in measured)
    assert "cleanlab flagged 5 of 54 training products" in card


def test_results_name_the_methods_of_the_method_doc(run_outputs):
    catalog, _ = run_outputs
    results = catalog.load("results")
    headline = ["image", "text", "feature_fusion", "decision_fusion", "ensemble"]
    assert list(results)[:5] == headline
    assert set().union(*GRID.namespaces().values()) | {"stacking_logreg"} <= set(results)
    assert {"feature_fusion_concat", "feature_fusion_sum", "feature_fusion_attention"} <= set(
        results
    )
    for scores in results.values():
        assert set(scores) == {"macro_f1", "weighted_f1", "accuracy"}
    # Each modality alone confuses a pair; the out-of-fold fusion and the vote separate them.
    assert results["decision_fusion"]["macro_f1"] > max(
        results["text"]["macro_f1"], results["image"]["macro_f1"]
    )
    assert results["ensemble"]["macro_f1"] > results["image"]["macro_f1"]


def test_the_headline_rows_are_the_grids_best_on_validation(run_outputs):
    catalog, _ = run_outputs
    results, choice = catalog.load("results"), catalog.load("headline_choice")
    # text_b, declared second, scores better than text_a; the three members tie (all perfect):
    # the first declared is shown.
    assert results["text_b"]["macro_f1"] > results["text_a"]["macro_f1"]
    assert {results[m]["macro_f1"] for m in ("fusion_a_2layer", "fusion_b_1layer",
                                            "fusion_a_1layer")} == {1.0}  # fmt: skip
    assert choice == {
        "image": "image_a", "text": "text_b", "feature_fusion": "feature_fusion_concat",
        "decision_fusion": "fusion_a_2layer",
    }  # fmt: skip
    for row, method in choice.items():
        assert results[row] == results[method]


def test_member_outputs_are_out_of_fold_tables_and_fold_votes(run_outputs):
    catalog, truth = run_outputs
    val_probs = catalog.load("fusion_a_2layer.val_probs")
    assert list(val_probs.columns) == ["row_id", *map(str, CODES)]
    assert len(val_probs) == len(truth["val_labels"]) and not val_probs.isna().any().any()
    metrics = catalog.load("fusion_a_2layer.metrics")
    assert metrics["n_folds"] == 4 and len(metrics["fold_best_epochs"]) == 4
    test_predictions = catalog.load("fusion_a_2layer.test_predictions")
    assert set(test_predictions.columns) == {"row_id", "label", "prdtypecode"}
    model = catalog.load("fusion_a_2layer.fusion_model")
    assert model.build_config["kwargs"] == {
        "num_folds": 4, "num_inputs": 54, "num_classes": 27, "hidden": 6, "residual": True,
        "prior_corrected": True,
    }  # fmt: skip
    folds = catalog.load("fusion_folds")
    assert sorted(folds["fold"].unique()) == [0, 1, 2, 3]


def test_submission_has_one_row_per_test_product(run_outputs):
    catalog, truth = run_outputs
    submission = catalog.load("submission")
    assert len(submission) == truth["n_test"]
    assert submission["row_id"].tolist() == list(range(84916, 84916 + truth["n_test"]))
    assert set(submission["prdtypecode"]) <= set(CODES)


def test_reporting_outputs(run_outputs):
    catalog, _ = run_outputs
    table = catalog.load("results_table")
    assert table["method"].tolist()[:5] == [
        "Uni-Image Classifier", "Uni-Text Classifier", "Feature-level Fusion",
        "Decision-level Fusion", "Ensemble",
    ]  # fmt: skip
    assert table["chosen"].tolist()[:4] == [
        "image_a", "text_b", "feature_fusion_concat", "fusion_a_2layer"
    ]  # fmt: skip
    markdown = catalog.load("results_table_markdown")
    assert "| Decision-level Fusion (`fusion_a_2layer`) | 90.94 | 90.17 | 100.00 |" in markdown
    confusion = catalog.load("confusion_matrix_chart")
    assert len(confusion.axes[0].get_xticklabels()) == 27
    assert catalog.load("per_class_f1_chart").axes and catalog.load("methods_chart").axes


def test_fusion_model_saves_and_reloads_with_the_project_dataset(run_outputs, tmp_path):
    catalog, _ = run_outputs
    model = catalog.load("fusion_a_2layer.fusion_model")
    dataset = TorchModelDataset(filepath=str(tmp_path / "fusion_model"))
    dataset.save(model)
    reloaded = dataset.load()
    inputs = torch.rand(5, 54)
    with torch.no_grad():
        assert torch.allclose(model.eval()(inputs), reloaded(inputs))
    assert reloaded(inputs).shape == (4, 5, 27)
    # conf/base's prior correction (τ = 1): the offset is log π of the 2-per-class training rows
    assert reloaded.build_config["metadata"]["prior_correction"] == 1.0
    assert reloaded.build_config["kwargs"]["prior_corrected"] is True
    expected = torch.full((27,), float(np.log(3 / (27 * 2 + 27))))
    assert torch.allclose(reloaded.members[0].prior_offset, expected)
