"""The preflight: every weight check is a preflight check, and everything a run lacks is
reported in one message before its first node."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from rakuten_kedro.preflight import (
    PREFLIGHT_TAG,
    PrerequisitesMissing,
    check_prerequisites,
    missing_outputs,
    pipelines_to_run_first,
    producers,
    run_command,
)

PROJECT = Path(__file__).resolve().parents[1]


def test_every_check_node_of_the_registered_pipelines_carries_the_preflight_tag():
    bootstrap_project(PROJECT)
    from kedro.framework.project import pipelines  # noqa: PLC0415

    checks = {
        node.name: node.tags
        for pipeline in pipelines.values()
        for node in pipeline.nodes
        if node.name.split(".")[-1].startswith("check_")
    }
    kinds = {name.split(".")[-1] for name in checks}
    assert {"check_text_encoder_node", "check_image_weights_node"} <= kinds
    assert "check_denoising_weights_node" in kinds
    assert [name for name, tags in checks.items() if PREFLIGHT_TAG not in tags] == []


def _identity(data):
    return data


def toy_registry() -> dict[str, Pipeline]:
    """raw -> a (made by `first`) -> b (made by `second`) -> c (made by `third`)."""
    return {
        "first": Pipeline([Node(_identity, "raw", "a", name="make_a")]),
        "second": Pipeline([Node(_identity, "a", "b", name="make_b")]),
        "third": Pipeline([Node(_identity, "b", "c", name="make_c")]),
        "__default__": Pipeline([]),
    }


def test_a_missing_upstream_output_names_every_pipeline_to_run_first():
    registry = toy_registry()
    catalog = DataCatalog(datasets={"raw": MemoryDataset("data")})  # a and b: nowhere
    assert missing_outputs(registry["third"], catalog, producers(registry)) == {"second": ["b"]}
    assert pipelines_to_run_first(registry["third"], catalog, registry) == ["first", "second"]
    catalog["a"] = MemoryDataset("made earlier")
    assert pipelines_to_run_first(registry["third"], catalog, registry) == ["second"]


def test_the_command_to_run_first_keeps_the_environment_and_the_params():
    run_params = {"env": "rakuten", "runtime_params": {"demo": {"n_products": 1200, "seed": 7}}}
    assert run_command(["first", "second"], run_params) == (
        'kedro run --pipelines first,second --env rakuten --params "demo.n_products=1200,'
        'demo.seed=7"'
    )
    assert run_command(["first"], {"env": "local", "runtime_params": {}}) == (
        "kedro run --pipelines first"
    )


def _failing_check(params):
    raise FileNotFoundError(f"weights of {params['name']} not found\nhow to get them")


def test_every_problem_is_reported_in_one_message():
    checks = Pipeline(
        [
            Node(_failing_check, f"params:{name}", f"{name}_source", name=f"check_{name}",
                 tags={PREFLIGHT_TAG})
            for name in ("text", "image")
        ]
    )  # fmt: skip
    registry = toy_registry()
    pipeline = checks + registry["third"]
    catalog = DataCatalog(
        datasets={f"params:{name}": MemoryDataset({"name": name}) for name in ("text", "image")}
    )
    with pytest.raises(PrerequisitesMissing) as error:
        check_prerequisites(pipeline, catalog, registry, {"env": None, "runtime_params": {}})
    assert str(error.value).splitlines() == [
        "This run cannot start, it lacks (nothing was run):",
        "- outputs of earlier pipelines that this run reads, not on disk:",
        "    second: b",
        "  Run first: kedro run --pipelines first,second",
        "- weights of image not found",
        "  how to get them",
        "- weights of text not found",
        "  how to get them",
    ]
