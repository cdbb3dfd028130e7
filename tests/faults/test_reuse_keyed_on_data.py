"""Reuse is keyed on the data: after a whole run, changing one title retrains the text models
and not the image ones, changing one photo retrains the image models and not the text ones,
changing nothing retrains nothing; the logs say why, and model files change exactly then."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.kedro_project import kedro, scratch_project

pytestmark = pytest.mark.integration

PARAMS = ",".join([
    "tracking.enabled=false",  # conf/local, which switches it off, is not read under --env
    "demo.n_products=1200", "demo.n_test=60",
    "text_transformer.training.epochs=2",
    "denoising.folds=2", "denoising.train.epochs=1",
    "image_dcl_clean.stage1.epochs=1", "image_dcl_clean.stage2.epochs=1",
    "image_plain_noisy.stage1.epochs=1", "image_plain_noisy.stage2.epochs=1",
])  # fmt: skip
RUN = [
    "run",
    "--env",
    "paper",
    "--pipelines",
    "preprocessing,text_model,denoising,image_model",
    "--params",
    PARAMS,
]
RAW = Path("data/01_raw/demo")
MODELS = {
    "text_transformer": "data/06_models/text_transformer/text_model/model.safetensors",
    "text_tfidf": "data/06_models/text_tfidf/tfidf_model/arrays.safetensors",
    "image_dcl_clean": "data/06_models/image_dcl_clean/image_model/model.safetensors",
    "image_plain_noisy": "data/06_models/image_plain_noisy/image_model/model.safetensors",
}
#: The name each training logs under (``<name>: reusing the finished training …``).
TEXT_TRAININGS = ["text_transformer"]
IMAGE_TRAININGS = [
    "image_dcl_clean stage 1", "image_dcl_clean stage 2 (DCL)",
    "image_plain_noisy stage 1", "image_plain_noisy stage 2",
    "denoising fold 1/2", "denoising fold 2/2",
]  # fmt: skip


def model_hashes(project: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((project / path).read_bytes()).hexdigest()
        for name, path in MODELS.items()
    }


def run(project: Path) -> str:
    """Runs the pipelines; returns this run's part of info.log (plain lines, never wrapped)."""
    log_file = project / "info.log"
    start = log_file.stat().st_size if log_file.exists() else 0
    result = kedro(project, *RUN)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return log_file.read_bytes()[start:].decode("utf-8")


def a_training_product(project: Path) -> pd.Series:
    products = pd.read_parquet(project / "data/03_primary/products.parquet")
    return products[products["split"] == "train"].iloc[0]


def reused(log: str, names: list[str]) -> bool:
    return all(f"{name}: reusing the finished training" in log for name in names)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    project = scratch_project(tmp_path_factory.mktemp("project"))
    logs, hashes = {}, {}
    logs["first"] = run(project)
    hashes["first"] = model_hashes(project)

    logs["unchanged"] = run(project)
    hashes["unchanged"] = model_hashes(project)

    product = a_training_product(project)
    x_train = project / RAW / "X_train_update.csv"
    table = pd.read_csv(x_train, index_col=0)
    table.loc[product["row_id"], "designation"] += " XL"
    table.to_csv(x_train)
    logs["title"] = run(project)
    hashes["title"] = model_hashes(project)

    photo = Path(product["image_path"])
    other = sorted(photo.parent.glob("*.jpg"))[-1]
    shutil.copyfile(other, photo)
    logs["photo"] = run(project)
    hashes["photo"] = model_hashes(project)
    return {"project": project, "logs": logs, "hashes": hashes}


def trained_an_epoch(log: str) -> bool:
    return re.search(r"epoch \d+/\d+: train loss", log) is not None


def test_an_unchanged_rerun_retrains_nothing(runs):
    log = runs["logs"]["unchanged"]
    assert reused(log, TEXT_TRAININGS + IMAGE_TRAININGS)
    assert "text_tfidf: reusing" in log and "tokenizer: reusing" in log
    assert not trained_an_epoch(log)
    assert "training again:" not in log and "building again:" not in log
    assert runs["hashes"]["unchanged"] == runs["hashes"]["first"]


def test_one_title_retrains_the_text_models_only(runs):
    log = runs["logs"]["title"]
    # (the from-scratch tokenizer is retrained on the new text, so it may have changed too)
    retrained = r"text_transformer: training again: (tokenizer and )?training text changed"
    assert re.search(retrained, log)
    assert "text_tfidf: building again: training text changed" in log
    assert "tokenizer: building again: training text changed" in log
    assert reused(log, IMAGE_TRAININGS)
    before, after = runs["hashes"]["unchanged"], runs["hashes"]["title"]
    assert after["text_transformer"] != before["text_transformer"]
    assert after["text_tfidf"] != before["text_tfidf"]
    assert after["image_dcl_clean"] == before["image_dcl_clean"]
    assert after["image_plain_noisy"] == before["image_plain_noisy"]


def test_one_photo_rebuilds_its_row_and_retrains_the_image_models_only(runs):
    log = runs["logs"]["photo"]
    assert "1 of 1200 photo(s) changed since they were decoded" in log
    changed = "training again: training pixels changed since the checkpoint"
    assert f"image_plain_noisy stage 1: {changed}" in log
    # The photo is held out by one denoising fold: that fold's model never saw it.
    retrained = [k for k in (1, 2) if f"denoising fold {k}/2: {changed}" in log]
    assert len(retrained) == 1
    assert reused(log, [f"denoising fold {3 - retrained[0]}/2"])
    assert reused(log, TEXT_TRAININGS) and "text_tfidf: reusing" in log
    before, after = runs["hashes"]["title"], runs["hashes"]["photo"]
    assert after["image_plain_noisy"] != before["image_plain_noisy"]
    assert after["text_transformer"] == before["text_transformer"]
    assert after["text_tfidf"] == before["text_tfidf"]


def test_the_logged_score_is_the_saved_score(runs):
    metrics = json.loads(
        (runs["project"] / "data/08_reporting/text_transformer/metrics.json").read_text()
    )
    # The reused checkpoint's own score, printed as it is reused, is the one saved from the
    # predictions of that model.
    assert f"macro-F1 {metrics['macro_f1']:.4f}); not training again" in runs["logs"]["photo"]
