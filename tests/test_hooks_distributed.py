"""Under a multi-process launch only rank 0 writes the run's outputs (MainProcessSavesHooks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from rakuten_kedro import settings
from rakuten_kedro.hooks import MainProcessSavesHooks


def make_run(tmp_path: Path) -> tuple[Pipeline, DataCatalog]:
    """raw (made before the run) -> doubled (file) -> summed (file, through a factory)."""
    JSONDataset(filepath=str(tmp_path / "raw.json")).save([1, 2, 3])
    catalog = DataCatalog.from_config(
        {
            "raw": {"type": "json.JSONDataset", "filepath": str(tmp_path / "raw.json")},
            "doubled": {"type": "json.JSONDataset", "filepath": str(tmp_path / "doubled.json")},
            "{name}_summed": {
                "type": "json.JSONDataset",
                "filepath": str(tmp_path / "{name}_summed.json"),
            },
        }
    )
    pipeline = Pipeline(
        [
            Node(lambda xs: [2 * x for x in xs], "raw", "doubled", name="double"),
            Node(sum, "doubled", "demo_summed", name="sum"),
        ]
    )
    return pipeline, catalog


def run(tmp_path: Path) -> DataCatalog:
    pipeline, catalog = make_run(tmp_path)
    MainProcessSavesHooks().before_pipeline_run(pipeline=pipeline, catalog=catalog)
    SequentialRunner().run(pipeline, catalog)
    return catalog


def test_rank_1_saves_nothing_but_still_passes_outputs_on(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    catalog = run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.json"]
    assert catalog.load("demo_summed") == 12  # "sum" loaded "doubled" from memory
    assert catalog.load("raw") == [1, 2, 3]


def test_rank_1_still_sees_outputs_of_earlier_runs(tmp_path: Path, monkeypatch):
    JSONDataset(filepath=str(tmp_path / "doubled.json")).save([0])
    monkeypatch.setenv("RANK", "1")
    pipeline, catalog = make_run(tmp_path)
    MainProcessSavesHooks().before_pipeline_run(pipeline=pipeline, catalog=catalog)
    assert catalog.exists("doubled") and catalog.load("doubled") == [0]
    SequentialRunner().run(pipeline, catalog)
    assert JSONDataset(filepath=str(tmp_path / "doubled.json")).load() == [0]  # not rewritten


@pytest.mark.parametrize("rank", ["0", None])
def test_rank_0_or_a_single_process_writes_every_output(tmp_path: Path, monkeypatch, rank):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo_summed.json", "doubled.json", "raw.json",
    ]  # fmt: skip
    assert JSONDataset(filepath=str(tmp_path / "demo_summed.json")).load() == 12


def test_the_hook_is_registered():
    assert any(isinstance(hook, MainProcessSavesHooks) for hook in settings.HOOKS)
