"""The pretrained-weights check runs before any node, and needs no data."""

from __future__ import annotations

import time

import pytest
from huggingface_hub import constants as hub_constants
from kedro.io import DataCatalog, MemoryDataset

from rakuten_kedro.hooks import PreflightChecksHooks
from rakuten_kedro.pipelines.text_model.pipeline import create_pipeline
from rakuten_kedro.preflight import PrerequisitesMissing
from tests.grids import make_grid
from tests.params import params

GRID = make_grid([("m1", "text_transformer", "image_a", "n"), ("m2", "text_tfidf", "image_a", "n")])


def catalog_with(model_params):
    catalog = DataCatalog(
        datasets={
            "params:text_transformer.model": MemoryDataset(
                params("text_transformer.model", **model_params)
            ),
            "params:text_tfidf.model": MemoryDataset(params("text_tfidf.model")),
        }
    )
    for name in create_pipeline(GRID).inputs() - set(catalog):
        catalog[name] = MemoryDataset("made by an earlier run")  # never read by the checks
    return catalog


def test_missing_pretrained_weights_stop_the_run_before_any_node(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    started = time.perf_counter()
    with pytest.raises(PrerequisitesMissing, match="hf download camembert-base"):
        PreflightChecksHooks().before_pipeline_run(
            {}, create_pipeline(GRID), catalog_with({"model_name_or_path": "camembert-base"})
        )
    assert time.perf_counter() - started < 10


def test_from_scratch_variants_pass_the_check():
    PreflightChecksHooks().before_pipeline_run(
        {}, create_pipeline(GRID), catalog_with({"model_name_or_path": None})
    )
