"""One end-to-end `kedro run` of the whole method on a tiny demo, in a scratch copy of the project.

Checks every docs/method.md §3 output, the paper's ordering of results, and that the raw folder is
byte-for-byte untouched by the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rakuten_kedro.grid import load_grid
from rakuten_kedro.reporting.headline import best_method
from tests.kedro_project import PROJECT

METHODS = ["image", "text", "feature_fusion", "decision_fusion", "ensemble"]

pytestmark = pytest.mark.integration


def test_results_json_has_every_method_and_the_papers_ordering(demo_run: Path):
    results = json.loads((demo_run / "data/08_reporting/results.json").read_text())
    for method in METHODS:
        assert set(results[method]) >= {"macro_f1", "weighted_f1", "accuracy"}, method
        assert 1 / 27 < results[method]["macro_f1"] <= 1
    assert results["image"]["macro_f1"] < results["text"]["macro_f1"]
    assert results["text"]["macro_f1"] < results["decision_fusion"]["macro_f1"]
    assert results["ensemble"]["macro_f1"] >= results["decision_fusion"]["macro_f1"] - 0.03


def test_the_headline_rows_show_the_grids_best_on_validation(demo_run: Path):
    results = json.loads((demo_run / "data/08_reporting/results.json").read_text())
    choice = json.loads((demo_run / "data/08_reporting/headline_choice.json").read_text())
    grid = load_grid("local", demo_run / "conf")
    candidates = {
        "image": [v.name for v in grid.image],
        "text": [v.name for v in grid.text],
        "decision_fusion": [m.name for m in grid.members],
    }
    for row, names in candidates.items():
        assert choice[row] == best_method(results, names), row
    assert choice["feature_fusion"].startswith("feature_fusion_")
    for row, method in choice.items():
        assert results[row] == results[method], row
    assert f"decision fusion = `{choice['decision_fusion']}`" in (
        demo_run / "data/08_reporting/model_card.md"
    ).read_text(encoding="utf-8")


def test_submission_has_one_row_per_test_product(demo_run: Path):
    submission = pd.read_csv(demo_run / "data/07_model_output/submission.csv", index_col=0)
    test = pd.read_csv(demo_run / "data/01_raw/demo/X_test_update.csv", index_col=0)
    assert list(submission.columns) == ["prdtypecode"]
    assert submission.index.tolist() == test.index.tolist()
    truth = pd.read_csv(demo_run / "data/01_raw/demo/demo_test_labels.csv")
    accuracy = (submission["prdtypecode"].to_numpy() == truth["prdtypecode"].to_numpy()).mean()
    assert accuracy > 0.5


def test_the_default_run_drops_every_fused_flag_from_its_image_models_rows_and_has_no_dcl(
    demo_run: Path,
):
    issues = pd.read_csv(demo_run / "data/03_primary/label_issues.csv")
    assert len(issues) and issues["dropped"].all()  # drop_fraction 1.0: every flagged row
    clean = pd.read_csv(demo_run / "data/03_primary/clean_training_ids.csv")
    products = pd.read_parquet(demo_run / "data/03_primary/products.parquet")
    train = set(products.loc[products["split"] == "train", "row_id"])
    assert set(clean["row_id"]) == train - set(issues["row_id"])
    metrics = json.loads((demo_run / "data/08_reporting/denoising/metrics.json").read_text())
    assert metrics["probabilities"] == "image_and_text"
    text_oof = pd.read_parquet(demo_run / "data/07_model_output/denoising/text_oof_probs.parquet")
    assert set(text_oof["row_id"]) == train  # the TF-IDF's out-of-fold probabilities were fused
    assert not (demo_run / "data/06_models/image_dcl_clean").exists()
    image = json.loads((demo_run / "data/08_reporting/image_plain_clean/metrics.json").read_text())
    assert image["training"]["stage2"] == {"skipped": True}
    card = (demo_run / "data/08_reporting/model_card.md").read_text(encoding="utf-8")
    assert f"the variants trained on denoised ids drop {len(issues)} of them" in card
    assert "`denoising.probabilities: image_and_text`" in card
    assert "soft vote of the members" in card
    assert "divided by the class's training frequency to the power 1" in card


def test_the_default_run_submits_the_highest_mean_probability_of_its_four_members(demo_run: Path):
    out = demo_run / "data/07_model_output"
    members = (
        "fusion_transformer_plain_2layer", "fusion_tfidf_plain_1layer",
        "fusion_transformer_denoised_2layer", "fusion_tfidf_denoised_1layer",
    )  # fmt: skip
    probs = [
        pd.read_parquet(out / member / "test_probs.parquet").set_index("row_id").sort_index()
        for member in members
    ]
    expected = (sum(probs) / len(probs)).idxmax(axis=1).astype("int64")
    voted = pd.read_parquet(out / "ensemble/test_predictions.parquet").set_index("row_id")
    assert len(voted) == len(expected) == 120
    assert voted.loc[expected.index, "prdtypecode"].tolist() == expected.tolist()


def test_the_default_runs_text_models_on_every_row_and_on_the_rows_denoising_keeps(
    demo_run: Path,
):
    """The two text models of each kind were fitted on different rows: the TF-IDF on the kept
    rows never saw the dropped ones, so their probabilities differ from the full model's."""
    out = demo_run / "data/07_model_output"
    full, kept = (
        pd.read_parquet(out / name / "val_probs.parquet").set_index("row_id")
        for name in ("text_tfidf", "text_tfidf_denoised")
    )
    assert full.index.equals(kept.index)  # both score every validation row
    assert not np.allclose(full.to_numpy(), kept.to_numpy())
    card = (demo_run / "data/08_reporting/model_card.md").read_text(encoding="utf-8")
    assert "`text_tfidf` (tfidf, all ids)" in card
    assert "`text_tfidf_denoised` (tfidf, denoised ids)" in card


def test_analysis_notebook_runs_headless_on_the_demo_outputs(demo_run: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(PROJECT / "notebooks" / "results_analysis.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": demo_run}}
    ).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    text = "".join(str(output.get("data", {}).get("text/markdown", "")) for output in outputs)
    assert "Decision-level Fusion" in text  # the results table was displayed
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    # bar chart, confusion matrix, the gallery of errors, the gallery of denoising flags
    assert len(images) >= 4
    printed = "".join(str(output.get("text", "")) for output in outputs)
    assert "No denoising in this run" not in printed
