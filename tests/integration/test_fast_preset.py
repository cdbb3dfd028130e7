"""The fast preset, `kedro run --env fast`: the whole method without denoising or DCL, two
fusion members, a soft vote; it writes every report and submission but none of denoising's
outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.kedro_project import TINY_DEMO, kedro, scratch_project

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory) -> tuple[Path, str]:
    project = scratch_project(tmp_path_factory.mktemp("project"))
    # conf/local (where scratch_project switches tracking off) is not read under --env
    result = kedro(
        project, "run", "--env", "fast", "--params", f"{TINY_DEMO},tracking.enabled=false"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return project, (project / "info.log").read_text(encoding="utf-8")


def test_fast_run_trains_no_denoising_and_no_dcl(fast_run):
    project, log = fast_run
    assert not (project / "data/03_primary/label_issues.csv").exists()
    assert not (project / "data/06_models/image_dcl_clean").exists()
    assert "Running node: select_clean_training_ids_node" not in log
    image = json.loads((project / "data/08_reporting/image_plain_noisy/metrics.json").read_text())
    assert image["training"]["stage2"] == {"skipped": True}
    card = (project / "data/08_reporting/model_card.md").read_text(encoding="utf-8")
    assert "No denoising in this run" in card
    assert "soft vote of the members" in card


def test_fast_run_submits_the_highest_mean_probability_of_its_two_members(fast_run):
    # (with two members, a majority vote broken by summed probability gives the same answer)
    project, _ = fast_run
    results = json.loads((project / "data/08_reporting/results.json").read_text())
    assert {"image", "text", "decision_fusion", "ensemble"} <= set(results)
    out = project / "data/07_model_output"
    probs = [
        pd.read_parquet(out / member / "test_probs.parquet").set_index("row_id").sort_index()
        for member in ("fusion_transformer_plain_2layer", "fusion_tfidf_plain_1layer")
    ]
    mean = (probs[0] + probs[1]) / 2
    expected = mean.idxmax(axis=1).astype("int64")
    submission = pd.read_csv(out / "submission.csv", index_col=0)
    assert len(submission) == len(expected) == 120
    voted = pd.read_parquet(out / "ensemble/test_predictions.parquet").set_index("row_id")
    assert voted.loc[expected.index, "prdtypecode"].tolist() == expected.tolist()
