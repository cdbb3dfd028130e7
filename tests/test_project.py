"""The Kedro project itself: pipelines registered, configuration resolves in both environments."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT = Path(__file__).resolve().parents[1]
PIPELINES = ["preprocessing", "denoising", "text_model", "image_model", "fusion", "ensemble"]


@pytest.fixture(scope="module", autouse=True)
def project():
    bootstrap_project(PROJECT)


def context(env: str | None = None, runtime_params: dict | None = None):
    session = KedroSession.create(PROJECT, env=env, runtime_params=runtime_params)
    return session.load_context()


def test_the_six_pipelines_are_registered_and_default_is_the_whole_method_the_grid_uses():
    from kedro.framework.project import pipelines  # noqa: PLC0415

    assert set(PIPELINES) <= set(pipelines)
    default_nodes = set(pipelines["__default__"].nodes)
    for name in PIPELINES:  # the default's image variant learns from the denoised ids
        assert set(pipelines[name].nodes) <= default_nodes, name


def test_base_env_reads_the_demo_folder():
    catalog = context().catalog
    raw = catalog.get("raw_products")._describe()
    assert raw == {"source": "demo", "raw_dir": "data/01_raw/demo", "subset": "train"}


def test_rakuten_env_reads_the_challenge_folder_at_paper_sizes():
    ctx = context(env="rakuten")
    assert ctx.catalog.get("raw_test_products")._describe()["raw_dir"] == "data/01_raw/rakuten"
    # Kedro hands nodes their typed configs (from the nodes' type hints), params included.
    assert ctx.params["preprocessing"]["image_cache"].sizes == [224, 448]


def test_the_default_votes_softly_with_one_image_stage_and_a_32px_cache():
    params = context().params
    assert params["ensemble"].rule == "soft"
    assert params["image_plain_clean"]["stage2"].enabled is False
    assert params["preprocessing"]["image_cache"].sizes == [32]
    paper = context(env="paper").params  # the paper's second stage, at CPU scale
    assert [paper[name]["stage2"].enabled for name in ("image_plain_noisy", "image_dcl_clean")] == [
        True, True
    ]  # fmt: skip
    assert paper["image_dcl_clean"]["stage1"].input_size == 32  # base's, through extends
    assert paper["preprocessing"]["image_cache"].sizes == [32, 64]
    assert context(env="rakuten").params["ensemble"].rule == "majority"  # the paper's


def test_params_given_at_run_time_reach_the_blocks_that_extend_the_one_they_set():
    parent = {"text_transformer": {"training": {"epochs": 1}}}
    params = context(env="quality", runtime_params=parent).params
    assert [params[f"text_transformer{s}"]["training"].epochs for s in ("", "_2", "_3")] == [1] * 3
    child = {"text_transformer_2": {"training": {"epochs": 2}}}
    params = context(env="quality", runtime_params=child).params
    yaml_epochs = params["text_transformer"]["training"].epochs
    assert yaml_epochs != 2
    epochs = [params[f"text_transformer{s}"]["training"].epochs for s in ("", "_2", "_3")]
    assert epochs == [yaml_epochs, 2, yaml_epochs]
    assert params["text_transformer_2"]["training"].seed == 2021  # its own, derived with add


def test_runtime_params_choose_the_data_without_editing_yaml(tmp_path: Path):
    ctx = context(
        runtime_params={
            "data": {"source": "sigir", "raw_dir": str(tmp_path)},
            "images": {"on_bad_image": "placeholder"},
        }
    )
    raw = ctx.catalog.get("raw_products")
    assert raw._describe() == {"source": "sigir", "raw_dir": str(tmp_path), "subset": "train"}
    assert ctx.params["preprocessing"]["image_cache"].on_bad_image == "placeholder"


def test_every_catalog_entry_has_a_kedro_viz_layer():
    ctx = context()
    config = ctx.config_loader["catalog"]
    missing = [
        name
        for name, entry in config.items()
        if not name.startswith("_")
        and "layer" not in (entry.get("metadata") or {}).get("kedro-viz", {})
    ]
    assert missing == []


#: The layers in the order data flows, the fusion level (second-level models) after the first.
LAYER_ORDER = ["raw", "intermediate", "primary", "feature", "model_input", "models",
               "model_output", "fusion_input", "fusion_models", "fusion_output",
               "reporting"]  # fmt: skip


def layer_of(catalog, name: str) -> str | None:
    """The kedro-viz layer of a dataset; None for parameters and undeclared memory datasets."""
    if name.startswith("params:") or name == "parameters" or name not in catalog:
        return None
    metadata = getattr(catalog.get(name), "metadata", None) or {}
    return metadata.get("kedro-viz", {}).get("layer")


def backward_layer_steps(pipeline, catalog) -> list[str]:
    """Every (dataset, later dataset) pair whose layers go backwards, through any chain of nodes.

    kedro-viz orders layers by everything downstream of a dataset, also through datasets without
    a layer (memory datasets), so a direct input -> output check would miss a cycle.
    """
    children: dict[str, set[str]] = {}
    for node in pipeline.nodes:
        for source in node.inputs:
            children.setdefault(source, set()).update(node.outputs)
    steps = []
    for source in sorted(children):
        if layer_of(catalog, source) is None:
            continue
        seen, frontier = set(), list(children[source])
        while frontier:
            name = frontier.pop()
            if name in seen:
                continue
            seen.add(name)
            frontier.extend(children.get(name, ()))
            target = layer_of(catalog, name)
            if target and LAYER_ORDER.index(target) < LAYER_ORDER.index(layer_of(catalog, source)):
                steps.append(f"{source} ({layer_of(catalog, source)}) -> {name} ({target})")
    return steps


def kedro_viz_layers(pipeline, catalog) -> list[str]:
    """The layers as kedro-viz sorts them (its own function); [] when it finds a cycle."""
    from types import SimpleNamespace  # noqa: PLC0415

    from kedro_viz.services.layers import sort_layers  # noqa: PLC0415

    graph: dict[str, set[str]] = {}
    for node in pipeline.nodes:
        graph.setdefault(node.name, set()).update(node.outputs)
        for name in [*node.inputs, *node.outputs]:
            graph.setdefault(name, set())
        for source in node.inputs:
            graph[source].add(node.name)
    nodes = {name: SimpleNamespace(layer=layer_of(catalog, name)) for name in graph}
    return sort_layers(nodes, graph)


@pytest.mark.parametrize("env", [None, "rakuten"])
def test_layers_only_flow_forward_so_kedro_viz_can_order_them(env: str | None):
    from rakuten_kedro.pipeline_registry import register_pipelines  # noqa: PLC0415

    ctx = context(env=env)  # its hook makes the pipelines follow the session's environment
    pipelines = register_pipelines()
    for name, pipeline in pipelines.items():
        assert backward_layer_steps(pipeline, ctx.catalog) == [], name
        layers = kedro_viz_layers(pipeline, ctx.catalog)
        assert layers, f"kedro-viz finds a layer cycle in {name}"
        assert set(layers) <= set(LAYER_ORDER), name
    default = kedro_viz_layers(pipelines["__default__"], ctx.catalog)
    assert default == [layer for layer in LAYER_ORDER if layer in default]
    assert {"models", "model_output", "fusion_input", "fusion_models", "fusion_output"} <= set(
        default
    )
