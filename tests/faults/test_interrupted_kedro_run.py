"""A whole `kedro run` SIGKILLed three times, then run to the end, matches an uninterrupted run.

One scratch project runs the same command four times: killed while the image cache is built,
killed in the text transformer's training loop, killed in the denoising cross-validation (one
fold done, one mid-way), then left to finish. A second scratch project runs it once, never
interrupted. The probabilities, metrics, image cache and denoising outputs must be identical, and
the logs of the reruns must show the finished work reused (cache chunks, epochs, folds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rakuten_kedro.training.checkpoint import checkpoint_path, load_checkpoint
from tests.kedro_project import KEDRO_CLI, kedro_environment, scratch_project

pytestmark = pytest.mark.integration

N_PRODUCTS, N_TEST, FOLDS, FOLD_EPOCHS, TEXT_EPOCHS = 1200, 120, 3, 2, 3
PARAMS = ",".join([
    "tracking.enabled=false",  # conf/local, which switches it off, is not read under --env
    f"demo.n_products={N_PRODUCTS}", f"demo.n_test={N_TEST}",
    f"denoising.folds={FOLDS}", f"denoising.train.epochs={FOLD_EPOCHS}",
    f"text_transformer.training.epochs={TEXT_EPOCHS}",
])  # fmt: skip
RUN = [
    "run",
    "--env",
    "paper",
    "--pipelines",
    "preprocessing,text_model,denoising",
    "--params",
    PARAMS,
]
# One thread: the same float sums in every run, and no contention on a shared CPU.
ENVIRONMENT = kedro_environment(
    OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", DO_NOT_TRACK="1"
)

CACHE = Path("data/05_model_input/image_cache/labelled")
CHECKPOINTS = Path("data/06_models/checkpoints")
TEXT_CHECKPOINT = CHECKPOINTS / "text_transformer"
FOLD = CHECKPOINTS / "denoising" / "fold{}"
# Outputs compared between the two projects.
TABLES = [
    "data/07_model_output/text_transformer/val_probs.parquet",
    "data/07_model_output/text_transformer/test_probs.parquet",
    "data/07_model_output/text_transformer/val_features.parquet",
    "data/07_model_output/text_tfidf/val_probs.parquet",
    "data/07_model_output/text_tfidf/test_probs.parquet",
    "data/07_model_output/denoising/oof_probs.parquet",
]
CSVS = ["data/03_primary/label_issues.csv", "data/03_primary/clean_training_ids.csv"]
JSONS = [
    "data/08_reporting/text_transformer/metrics.json",
    "data/08_reporting/text_tfidf/metrics.json",
    "data/08_reporting/denoising/metrics.json",
]


def kedro_run(project: Path, kill_when: Callable[[Path], bool] | None = None) -> str:
    """Run the command in ``project``; SIGKILL its process group as soon as
    ``kill_when(project)`` holds (``None``: let it finish). Returns what it logged."""
    log_file = project / "info.log"  # conf/logging.yml's file handler, one line per record
    logged_before = log_file.stat().st_size if log_file.is_file() else 0
    with (project / "output.txt").open("a") as output:
        process = subprocess.Popen(
            [str(KEDRO_CLI), *RUN], cwd=project, env=ENVIRONMENT, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 600
        try:
            while kill_when is not None and not kill_when(project):
                assert process.poll() is None, "the run ended before the point it was to be killed"
                assert time.monotonic() < deadline, "the kill point never came"
                time.sleep(0.005)
            if kill_when is None:
                process.wait(timeout=600)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # kedro and anything it started
            returncode = process.wait()
    if kill_when is None:
        assert returncode == 0, (project / "output.txt").read_text()[-5000:]
    else:
        assert returncode == -signal.SIGKILL
    with log_file.open(encoding="utf-8") as log:
        log.seek(logged_before)
        return log.read()


def cache_in_progress(project: Path) -> bool:
    return (project / CACHE / "progress.json").is_file()


def text_checkpointed(project: Path) -> bool:
    return checkpoint_path(project / TEXT_CHECKPOINT).is_file()


def second_fold_checkpointed(project: Path) -> bool:
    return checkpoint_path(project / str(FOLD).format(1)).is_file()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Both projects, the logs of the interrupted one's four runs and what each kill left."""
    project = scratch_project(tmp_path_factory.mktemp("interrupted"))
    left: dict = {}
    logs = [kedro_run(project, kill_when=cache_in_progress)]
    left["cache"] = {
        "progress": json.loads((project / CACHE / "progress.json").read_text()),
        "manifest": (project / CACHE / "manifest.json").exists(),
    }
    logs.append(kedro_run(project, kill_when=text_checkpointed))
    left["text"] = {
        "checkpoint": load_checkpoint(project / TEXT_CHECKPOINT),
        "model": (project / "data/06_models/text_transformer/text_model").exists(),
    }
    logs.append(kedro_run(project, kill_when=second_fold_checkpointed))
    left["folds"] = [load_checkpoint(project / str(FOLD).format(k)) for k in range(FOLDS)]
    left["oof"] = (project / "data/07_model_output/denoising/oof_probs.parquet").exists()
    logs.append(kedro_run(project))

    reference = scratch_project(tmp_path_factory.mktemp("uninterrupted"))
    reference_log = kedro_run(reference)
    return {
        "project": project, "reference": reference, "logs": logs, "left": left,
        "reference_log": reference_log,
    }  # fmt: skip


def test_each_kill_caught_its_stage_mid_way(runs: dict):
    left = runs["left"]
    assert 0 < left["cache"]["progress"]["done"] < N_PRODUCTS
    assert not left["cache"]["manifest"]  # the half-built cache is not marked as built

    text = left["text"]["checkpoint"]
    assert 1 <= text["state"]["epochs_done"] < TEXT_EPOCHS and not text.get("finished")
    assert not left["text"]["model"]

    first, second, third = left["folds"]
    assert first["finished"] and first["state"]["epochs_done"] == FOLD_EPOCHS
    assert second["state"]["epochs_done"] < FOLD_EPOCHS and not second.get("finished")
    assert third is None
    assert not left["oof"]


def test_each_rerun_reused_the_finished_work(runs: dict):
    left, (_, after_cache, after_text, after_folds) = runs["left"], runs["logs"]
    done = left["cache"]["progress"]["done"]
    assert f"Resuming the image cache at photo {done} of {N_PRODUCTS}." in after_cache
    assert "data/05_model_input/image_cache/test is up to date" in after_cache

    epochs_done = left["text"]["checkpoint"]["state"]["epochs_done"]
    assert f"text_transformer: resuming from epoch {epochs_done + 1}" in after_text
    assert "tokenizer: reusing" in after_text
    for epoch in range(1, epochs_done + 1):  # the checkpointed epochs are not trained again
        assert f"text_transformer epoch {epoch}/{TEXT_EPOCHS}:" not in after_text
    assert f"text_transformer epoch {TEXT_EPOCHS}/{TEXT_EPOCHS}:" in after_text
    assert "labelled is up to date" in after_text

    assert "text_transformer: reusing the finished training" in after_folds
    assert f"denoising fold 1/{FOLDS}: reusing the finished training" in after_folds
    assert f"denoising fold 1/{FOLDS} epoch" not in after_folds
    second_done = left["folds"][1]["state"]["epochs_done"]
    assert f"denoising fold 2/{FOLDS}: resuming from epoch {second_done + 1}" in after_folds
    assert f"denoising fold 2/{FOLDS} epoch {second_done}/" not in after_folds
    assert f"denoising fold {FOLDS}/{FOLDS} epoch {FOLD_EPOCHS}/{FOLD_EPOCHS}" in after_folds


def test_the_uninterrupted_run_trained_everything_from_scratch(runs: dict):
    log = runs["reference_log"]
    assert "resuming" not in log.lower() and "not training again" not in log
    assert f"text_transformer epoch 1/{TEXT_EPOCHS}:" in log
    assert f"denoising fold 1/{FOLDS} epoch 1/{FOLD_EPOCHS}:" in log


@pytest.mark.parametrize("table", TABLES)
def test_probabilities_are_identical(runs: dict, table: str):
    resumed = pd.read_parquet(runs["project"] / table)
    uninterrupted = pd.read_parquet(runs["reference"] / table)
    assert len(resumed) > 0
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=True)


@pytest.mark.parametrize("name", JSONS)
def test_metrics_are_identical(runs: dict, name: str):
    resumed = json.loads((runs["project"] / name).read_text())
    assert resumed == json.loads((runs["reference"] / name).read_text())
    assert resumed  # not an empty report


@pytest.mark.parametrize("name", CSVS)
def test_denoising_outputs_are_identical(runs: dict, name: str):
    resumed = pd.read_csv(runs["project"] / name)
    assert len(resumed) > 0
    pd.testing.assert_frame_equal(resumed, pd.read_csv(runs["reference"] / name), check_exact=True)


@pytest.mark.parametrize("size", [32, 64])
def test_the_resumed_image_cache_is_identical(runs: dict, size: int):
    resumed = np.load(runs["project"] / CACHE / f"images_{size}.npy", mmap_mode="r")
    uninterrupted = np.load(runs["reference"] / CACHE / f"images_{size}.npy", mmap_mode="r")
    assert resumed.shape == (N_PRODUCTS, size, size, 3)
    np.testing.assert_array_equal(resumed, uninterrupted)
    assert not (runs["project"] / CACHE / "progress.json").exists()
    assert sorted(p.name for p in (runs["project"] / CACHE).iterdir()) == sorted(
        p.name for p in (runs["reference"] / CACHE).iterdir()
    )
