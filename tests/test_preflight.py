"""Every weight check is a preflight check: the hook runs it before the pipeline's first node."""

from __future__ import annotations

from pathlib import Path

from kedro.framework.startup import bootstrap_project

from rakuten_kedro.preflight import PREFLIGHT_TAG

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
