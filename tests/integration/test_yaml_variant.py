"""A variant is YAML only: a new environment declares a text variant, an image variant and two
ensemble members in its grid, gives them parameter blocks, and `kedro run --env` trains them
and saves their models, with no code edited."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.kedro_project import kedro, scratch_project

pytestmark = pytest.mark.integration

GRID = {
    "grid": {
        "text": [
            {"name": "text_tfidf", "kind": "tfidf", "training_ids": "all"},
            {"name": "text_small", "kind": "transformer", "training_ids": "all"},
        ],
        "image": [{"name": "image_small", "training_ids": "all", "dcl": False}],
        # The TF-IDF member first: the fusion baselines run over the first member with a
        # transformer text variant (feature fusion reads its features), fusion_small.
        "members": [
            {
                "name": "fusion_tfidf_small",
                "text": "text_tfidf",
                "image": "image_small",
                "network": "two_layer",
            },
            {
                "name": "fusion_small",
                "text": "text_small",
                "image": "image_small",
                "network": "one_layer",
            },
        ],  # fmt: skip
    }
}
MODELS = [
    "data/06_models/text_small/text_model/model.safetensors",
    "data/06_models/text_tfidf/tfidf_model/arrays.safetensors",
    "data/06_models/image_small/image_model/model.safetensors",
    "data/06_models/image_small/stage1_model/model.safetensors",
    "data/06_models/fusion_small/fusion_model/model.safetensors",
    "data/06_models/fusion_tfidf_small/fusion_model/model.safetensors",
]


def variant_blocks(conf: Path) -> tuple[dict, dict]:
    """New variants' blocks, written as a user would: a copy of an existing block, edited."""
    text = yaml.safe_load((conf / "base/parameters_text_model.yml").read_text())
    image = yaml.safe_load((conf / "base/parameters_image_model.yml").read_text())
    text_small = copy.deepcopy(text["text_transformer"])
    text_small["model"]["from_scratch"]["hidden_size"] = 32
    text_small["training"]["epochs"] = 1
    image_small = copy.deepcopy(image["image_plain_noisy"])
    image_small["stage1"]["epochs"] = image_small["stage2"]["epochs"] = 1
    return {"text_small": text_small}, {"image_small": image_small}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    project = scratch_project(tmp_path_factory.mktemp("project"))
    extra = project / "conf" / "extra"
    extra.mkdir()
    text, image = variant_blocks(project / "conf")
    (extra / "parameters_grid.yml").write_text(yaml.safe_dump(GRID))
    (extra / "parameters_text_model.yml").write_text(yaml.safe_dump(text))
    (extra / "parameters_image_model.yml").write_text(yaml.safe_dump(image))
    result = kedro(
        project, "run", "--env", "extra",
        "--pipelines", "preprocessing,text_model,image_model,fusion,ensemble",
        "--params", "demo.n_products=1200,demo.n_test=60,fusion.cross_validation.n_folds=4",
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return project


@pytest.mark.parametrize("model", MODELS)
def test_the_new_variants_models_are_saved(project: Path, model: str):
    assert (project / model).is_file()


def test_the_new_members_vote_the_submission(project: Path):
    submission = pd.read_csv(project / "data/07_model_output/submission.csv", index_col=0)
    test = pd.read_csv(project / "data/01_raw/demo/X_test_update.csv", index_col=0)
    assert submission.index.tolist() == test.index.tolist()
    members = pd.read_parquet(project / "data/07_model_output/fusion_small/val_probs.parquet")
    assert len(members) > 0


def test_the_fusion_baselines_run_over_the_first_member_with_a_transformer(project: Path):
    out = project / "data/07_model_output"
    for baseline in ("stacking_logreg", "feature_fusion_sum"):
        assert len(pd.read_parquet(out / baseline / "val_probs.parquet")) > 0, baseline


def test_the_base_variants_are_not_built(project: Path):
    assert not (project / "data/06_models/text_transformer").exists()
    assert not (project / "data/06_models/image_dcl_clean").exists()
