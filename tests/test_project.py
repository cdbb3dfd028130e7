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


def test_the_six_pipelines_are_registered_and_default_is_the_whole_method():
    from kedro.framework.project import pipelines  # noqa: PLC0415

    assert set(PIPELINES) <= set(pipelines)
    default_nodes = set(pipelines["__default__"].nodes)
    for name in PIPELINES:
        assert set(pipelines[name].nodes) <= default_nodes, name


def test_base_env_reads_the_demo_folder():
    catalog = context().catalog
    raw = catalog.get("raw_products")._describe()
    assert raw == {"source": "demo", "raw_dir": "data/01_raw/demo", "subset": "train"}


def test_rakuten_env_reads_the_challenge_folder_at_paper_sizes():
    ctx = context(env="rakuten")
    assert ctx.catalog.get("raw_test_products")._describe()["raw_dir"] == "data/01_raw/rakuten"
    assert ctx.params["preprocessing"]["image_cache"]["sizes"] == [224, 448]


def test_runtime_params_choose_the_data_without_editing_yaml(tmp_path: Path):
    ctx = context(
        runtime_params={
            "data": {"source": "sigir", "raw_dir": str(tmp_path)},
            "images": {"on_bad_image": "placeholder"},
        }
    )
    raw = ctx.catalog.get("raw_products")
    assert raw._describe() == {"source": "sigir", "raw_dir": str(tmp_path), "subset": "train"}
    assert ctx.params["preprocessing"]["image_cache"]["on_bad_image"] == "placeholder"


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


LAYER_ORDER = ["raw", "intermediate", "primary", "feature", "model_input", "models",
               "model_output", "reporting"]  # fmt: skip


def test_layers_only_flow_forward_so_kedro_viz_can_order_them():
    from kedro.framework.project import pipelines  # noqa: PLC0415

    catalog = context().catalog

    def layer(name: str) -> str | None:
        if name.startswith("params:") or name == "parameters" or name not in catalog:
            return None
        metadata = getattr(catalog.get(name), "metadata", None) or {}
        return metadata.get("kedro-viz", {}).get("layer")

    backwards = [
        f"{source} ({layer(source)}) -> {target} ({layer(target)})"
        for node in pipelines["__default__"].nodes
        for source in node.inputs
        for target in node.outputs
        if layer(source) and layer(target)
        and LAYER_ORDER.index(layer(source)) > LAYER_ORDER.index(layer(target))
    ]  # fmt: skip
    assert backwards == []
