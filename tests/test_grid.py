"""The experiment grid: declared once per environment, validated, the same from every entry
point (the command line, KEDRO_ENV, the Python API in either order), or a clear error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from rakuten_kedro.grid import Grid, GridError, check_pipeline_matches_grid, load_grid, parse_grid
from rakuten_kedro.hooks import GridEnvironmentHooks
from rakuten_kedro.pipeline_registry import build_pipelines
from tests.kedro_project import KEDRO_CLI, PROJECT, kedro_environment

NETWORKS = {"fusion": {"networks": {"one_layer": {}, "two_layer": {}}}}


def grid_parameters(**changes) -> dict:
    grid = {
        "text": [
            {"name": "text_a", "kind": "transformer", "training_ids": "all"},
            {"name": "text_b", "kind": "tfidf", "training_ids": "all"},
        ],
        "image": [{"name": "image_a", "training_ids": "all", "dcl": False}],
        "members": [
            {"name": "m1", "text": "text_a", "image": "image_a", "network": "two_layer"},
            {"name": "m2", "text": "text_b", "image": "image_a", "network": "one_layer"},
        ],
    }
    grid.update(changes)
    return {"grid": grid, **NETWORKS}


def test_a_grid_parses_with_its_cross_references():
    grid = parse_grid(grid_parameters())
    assert [v.kind for v in grid.text] == ["transformer", "tfidf"]
    assert grid.image[0].training_ids_dataset == "all_training_ids"
    assert grid.baseline_member.name == "m1"
    assert grid.namespaces()["members"] == {"m1", "m2"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "members": [
                    {"name": "m1", "text": "text_zz", "image": "image_a", "network": "one_layer"}
                ]
            },
            r"grid.yml: grid.members\[0\] \(m1\) names text 'text_zz', which is not declared in "
            r"grid.text: \['text_a', 'text_b'\]",
        ),
        (
            {"members": [{"name": "m1", "text": "text_a", "image": "image_a", "network": "three"}]},
            r"names network 'three', which is not declared in fusion.networks",
        ),
        ({"text": [{"name": "text_a", "kind": "bert"}]}, r"grid.text\[0\] \(text_a\): kind must"),
        ({"text": [{"name": "bert", "kind": "tfidf"}]}, r"text variant names start with 'text_'"),
        ({"image": [{"name": "image_a", "training_ids": "all"}]}, "dcl must be true or false"),
        (
            {"text": [{"name": "text_a", "kind": "tfidf"}]},
            r"grid.text\[0\] \(text_a\): training_ids must be one of \('denoised', 'all'\), "
            "not None",
        ),
        (
            {
                "members": [
                    {"name": "m2", "text": "text_b", "image": "image_a", "network": "one_layer"}
                ]
            },
            r"base/parameters_grid.yml: no member fuses a transformer text variant: the fusion "
            r"baselines \(stacking, feature-level fusion\) run over the first member that does",
        ),
        ({"members": []}, "grid.members must be a non-empty list"),
        (
            {
                "members": [
                    {
                        "name": "ensemble",
                        "text": "text_a",
                        "image": "image_a",
                        "network": "one_layer",
                    }
                ]
            },
            "not a usable namespace name",
        ),  # fmt: skip
    ],
)
def test_a_wrong_entry_is_an_error_naming_the_file_and_the_entry(changes, message):
    with pytest.raises(GridError, match=message):
        parse_grid(grid_parameters(**changes), source="conf/base/parameters_grid.yml")


def test_a_declared_headline_is_an_error_saying_validation_chooses_it():
    with pytest.raises(GridError) as error:
        parse_grid(grid_parameters(headline="m1"), source="conf/local/parameters_grid.yml")
    assert str(error.value) == (
        "conf/local/parameters_grid.yml: grid.headline is no longer read: the headline text, "
        "image and decision_fusion rows are now chosen by validation macro-F1 (the text variant, "
        "image variant and member that score best; data/08_reporting/headline_choice.json says "
        "which). Delete the headline key."
    )


def test_the_fusion_baselines_member_is_the_first_with_a_transformer_text_variant():
    members = [
        {"name": "m2", "text": "text_b", "image": "image_a", "network": "one_layer"},
        {"name": "m1", "text": "text_a", "image": "image_a", "network": "two_layer"},
        {"name": "m3", "text": "text_a", "image": "image_a", "network": "one_layer"},
    ]
    grid = parse_grid(grid_parameters(members=members))
    assert grid.baseline_member.name == "m1"
    assert [m.name for m in grid.transformer_members()] == ["m1", "m3"]


def project_grid(env: str) -> Grid:
    return load_grid(env, PROJECT / "conf")


def test_the_project_grids():
    base, paper, rakuten = project_grid("local"), project_grid("paper"), project_grid("rakuten")
    assert [len(grid.members) for grid in (base, paper, rakuten)] == [4, 5, 12]
    assert paper.text == rakuten.text == base.text[:2]  # the paper's: on every training row
    assert {v.training_ids for v in paper.text} == {"all"}
    assert paper.image == rakuten.image != base.image
    for grid in (base, paper, rakuten):  # the first member that fuses the transformer text variant
        assert grid.baseline_member == next(m for m in grid.members if m.text == "text_transformer")
    assert {m.network for m in rakuten.members} == {"one_layer", "two_layer", "two_layer_residual"}


def test_the_default_grid_fuses_one_plain_image_model_with_text_on_all_and_kept_rows():
    base, paper = project_grid("local"), project_grid("paper")
    assert paper.uses_denoising and base.uses_denoising
    assert [(v.name, v.training_ids, v.dcl) for v in base.image] == [
        ("image_plain_clean", "denoised", False)
    ]  # fmt: skip
    assert [(v.name, v.training_ids) for v in base.text] == [
        ("text_transformer", "all"), ("text_tfidf", "all"),
        ("text_transformer_denoised", "denoised"), ("text_tfidf_denoised", "denoised"),
    ]  # fmt: skip
    assert {(m.text, m.image) for m in base.members} == {
        (text.name, "image_plain_clean") for text in base.text
    }
    default_nodes = {node.name for node in build_pipelines(base)["__default__"].nodes}
    denoising_nodes = {node.name for node in build_pipelines(base)["denoising"].nodes}
    assert denoising_nodes and denoising_nodes <= default_nodes


def test_a_grid_without_a_denoised_image_variant_runs_no_denoising():
    grid = parse_grid(grid_parameters())  # its one image variant learns from every row
    assert not grid.uses_denoising
    pipelines = build_pipelines(grid)
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    denoising_nodes = {node.name for node in pipelines["denoising"].nodes}
    assert denoising_nodes and not denoising_nodes & default_nodes


def test_a_text_variant_on_denoised_ids_brings_denoising_into_the_run():
    text = [
        {"name": "text_a", "kind": "transformer", "training_ids": "denoised"},
        {"name": "text_b", "kind": "tfidf", "training_ids": "all"},
    ]
    grid = parse_grid(grid_parameters(text=text))  # the image variant learns from every row
    assert grid.uses_denoising
    assert [v.training_ids_dataset for v in grid.text] == ["clean_training_ids", "all_training_ids"]
    pipelines = build_pipelines(grid)
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    assert {node.name for node in pipelines["denoising"].nodes} <= default_nodes
    trains_text_a = next(
        n for n in pipelines["text_model"].nodes if n.name == "text_a.train_text_transformer_node"
    )
    assert trains_text_a.inputs[0] == "text_a.training_products"
    selects = next(
        n for n in pipelines["text_model"].nodes if n.name == "text_a.keep_training_rows_node"
    )
    assert selects.inputs == ["products", "clean_training_ids"]
    assert not any(n.name.startswith("text_b.keep") for n in pipelines["text_model"].nodes)


def test_the_quality_preset_is_the_default_three_times():
    base, quality = project_grid("local"), project_grid("quality")
    assert quality.uses_denoising and len(quality.members) == 3 * len(base.members)
    assert [(v.name, v.training_ids) for v in quality.image] == [
        ("image_plain_clean", "denoised"), ("image_plain_clean_2", "denoised"),
        ("image_plain_clean_3", "denoised"),
    ]  # fmt: skip
    assert {m.network for m in quality.members} == {m.network for m in base.members}


def members_of(pipelines: dict) -> set[str]:
    return {
        n.namespace for n in pipelines["fusion"].nodes if n.name.endswith("_decision_fusion_node")
    }


@pytest.fixture
def project(monkeypatch):
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    monkeypatch.chdir(PROJECT)
    bootstrap_project(PROJECT)
    from kedro.framework.project import pipelines  # noqa: PLC0415

    pipelines.configure("rakuten_kedro.pipeline_registry")
    yield pipelines
    pipelines.configure("rakuten_kedro.pipeline_registry")


def test_python_api_session_first_then_pipelines(project):
    KedroSession.create(PROJECT, env="rakuten").load_context()
    assert len(members_of(project)) == 12


def test_python_api_pipelines_first_then_session(project):
    assert len(members_of(project)) == 4  # no environment asked for yet: local
    KedroSession.create(PROJECT, env="rakuten").load_context()
    assert len(members_of(project)) == 12  # rebuilt for the session's environment
    # The session's environment is now the process's KEDRO_ENV (as `kedro jupyter --env` does),
    # so a session without env stays rakuten, and another environment rebuilds again.
    assert KedroSession.create(PROJECT).load_context().env == "rakuten"
    KedroSession.create(PROJECT, env="local").load_context()
    assert len(members_of(project)) == 4


def test_a_pipeline_built_for_another_environment_does_not_run():
    stale = build_pipelines(load_grid("local", PROJECT / "conf"))["__default__"]
    with pytest.raises(GridError, match=r"built from another experiment grid .*KEDRO_ENV=rakuten"):
        GridEnvironmentHooks().before_pipeline_run({"env": "rakuten"}, stale)
    rakuten = build_pipelines(load_grid("rakuten", PROJECT / "conf"))
    with pytest.raises(GridError, match="fusion_transformer_dcl_residual"):
        check_pipeline_matches_grid(rakuten["fusion"], load_grid("local", PROJECT / "conf"))
    check_pipeline_matches_grid(rakuten["__default__"], load_grid("rakuten", PROJECT / "conf"))
    check_pipeline_matches_grid(rakuten["text_model"], load_grid("local", PROJECT / "conf"))


def describe(*args: str, **environment: str) -> str:
    result = subprocess.run(
        [str(KEDRO_CLI), "registry", "describe", "ensemble", *args], cwd=PROJECT,
        env=kedro_environment(**environment), capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def ensemble_members(output: str) -> list[str]:
    lines = output.split("Ensemble members:")[1].splitlines()
    return [line[2:] for line in lines if line.startswith("- ")]


def test_the_command_line_and_kedro_env_show_the_same_members():
    assert len(ensemble_members(describe())) == 4
    assert len(ensemble_members(describe("--env", "rakuten"))) == 12
    assert ensemble_members(describe(KEDRO_ENV="rakuten")) == ensemble_members(
        describe("--env", "rakuten")
    )


def test_a_member_naming_an_unknown_variant_stops_the_command(tmp_path: Path):
    conf = tmp_path / "conf"
    subprocess.run(["cp", "-r", str(PROJECT / "conf"), str(conf)], check=True)
    (conf / "broken").mkdir()
    (conf / "broken" / "parameters_grid.yml").write_text(
        "grid:\n  members:\n    - {name: m1, text: text_large, image: image_dcl_clean, "
        "network: one_layer}\n"
    )
    with pytest.raises(GridError, match=r"broken/parameters_grid.yml: grid.members\[0\] \(m1\) "
                       r"names text 'text_large'"):  # fmt: skip
        load_grid("broken", conf)
