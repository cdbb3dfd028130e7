"""The paper's components at CPU scale, `kedro run --env paper`: denoising, an image model
trained with DCL on the denoised rows, five fusion members; every output the default run
leaves out (the default itself: tests/integration/test_demo_run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.kedro_project import TINY_DEMO, kedro, scratch_project

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory) -> tuple[Path, str]:
    project = scratch_project(tmp_path_factory.mktemp("project"))
    # conf/local (where scratch_project switches tracking off) is not read under --env
    result = kedro(
        project, "run", "--env", "paper", "--params", f"{TINY_DEMO},tracking.enabled=false"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return project, (project / "info.log").read_text(encoding="utf-8")


def test_label_issues_are_ranked_training_rows(paper_run):
    project, _ = paper_run
    issues = pd.read_csv(project / "data/03_primary/label_issues.csv")
    expected = {"productid", "imageid", "given_prdtypecode", "suggested_prdtypecode", "rank"}
    assert expected <= set(issues.columns)
    assert len(issues) > 0 and issues["rank"].tolist() == sorted(issues["rank"])
    products = pd.read_parquet(project / "data/03_primary/products.parquet")
    training = products[products["split"] == "train"]
    kept = pd.read_csv(project / "data/03_primary/clean_training_ids.csv")
    assert 0 < len(training) - len(kept) <= len(issues)  # the top of the flags is dropped


def test_the_dcl_image_model_learns_from_the_denoised_rows_in_two_stages(paper_run):
    project, log = paper_run
    assert "Running node: select_clean_training_ids_node" in log
    metrics = json.loads((project / "data/08_reporting/image_dcl_clean/metrics.json").read_text())
    assert set(metrics["training"]) >= {"stage1", "stage2"}
    assert metrics["training"]["stage2"] != {"skipped": True}
    card = (project / "data/08_reporting/model_card.md").read_text(encoding="utf-8")
    assert "No denoising in this run" not in card
    # The paper's ranking: the image out-of-fold probabilities alone, no TF-IDF fitted.
    denoising = json.loads((project / "data/08_reporting/denoising/metrics.json").read_text())
    assert denoising["probabilities"] == "image"
    assert "cleanlab ranked the image models' out-of-fold probabilities" in card
    assert "Fusion decisions: each network's most probable class (the paper's)." in card
    text_oof = pd.read_parquet(project / "data/07_model_output/denoising/text_oof_probs.parquet")
    assert text_oof.empty


def test_the_five_members_vote_the_submission(paper_run):
    project, _ = paper_run
    members = sorted(p.parent.name for p in (project / "data/06_models").glob("*/fusion_model"))
    assert len(members) == 5 and all(name.startswith("fusion_") for name in members), members
    submission = pd.read_csv(project / "data/07_model_output/submission.csv", index_col=0)
    assert len(submission) == 120
