"""Typed configs at the edge: unknown, missing and mistyped keys are errors naming the key, the
block and the file; each default is defined once; conf/rakuten states only overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rakuten_kedro.config import (
    ConfigError,
    Stage,
    TextTraining,
    check_parameters,
    environments,
    parameter_block,
    parameter_files,
    parses_params,
    variants_declared_in,
)
from rakuten_kedro.grid import load_grid
from rakuten_kedro.pipeline_registry import build_pipelines
from tests.kedro_project import PROJECT, kedro, scratch_project
from tests.params import params

CONF = PROJECT / "conf"


def test_a_block_parses_into_a_frozen_config_with_run_defaults():
    training = TextTraining.parse(params("text_transformer.training"), "text_transformer.training")
    assert training.lr == 3e-3 and training.num_workers == 0 and training.progress
    assert training.inference_batch_size == 128
    with pytest.raises(Exception, match="frozen"):
        training.lr = 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lerning_rate": 0.1}, r"text_transformer.training.lerning_rate: unknown key"),
        ({"epoch": 3}, r"unknown key \(did you mean 'epochs'\?\)"),
        ({"epochs": "two"}, r"text_transformer.training.epochs: 'two': Input should be a valid"),
        ({"epochs": 0}, r"epochs: 0: Input should be greater than or equal to 1"),
    ],
)
def test_a_wrong_key_names_the_key_and_the_block(change, message):
    with pytest.raises(ConfigError, match=message):
        TextTraining.parse(
            params("text_transformer.training", **change), "text_transformer.training"
        )


def test_a_missing_key_is_named():
    values = params("image_dcl_clean.stage1")
    del values["lr"]
    with pytest.raises(ConfigError, match=r"image_dcl_clean.stage1.lr: missing key"):
        Stage.parse(values, "image_dcl_clean.stage1")


def test_nodes_receive_configs_whether_given_dicts_or_configs():
    @parses_params
    def node(rows: list, stage: Stage) -> Stage:
        return stage

    values = params("image_dcl_clean.stage1")
    stage = node([], values)
    assert isinstance(stage, Stage) and stage.lr == values["lr"]
    assert node([], stage) is stage


def test_every_block_the_pipelines_read_is_checked_at_once_naming_the_files(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    for env in ("base", "local"):
        (conf / env).mkdir()
    (conf / "local" / "parameters_mine.yml").write_text(
        yaml.safe_dump(
            {
                "text_transformr": {},
                "fusion": {
                    "training": {"epoch": 3},
                    "decisions": {"prior_correction": 2},
                    "prior_correction": 1,  # the key's former place
                },
            }
        )
    )
    parameters = {**yaml.safe_load((CONF / "base/parameters_fusion.yml").read_text())}
    parameters["text_transformr"] = {}
    parameters["fusion"]["training"]["epoch"] = 3
    parameters["fusion"]["decisions"]["prior_correction"] = 2
    parameters["fusion"]["prior_correction"] = 1
    parameters["fusion"]["training"]["seed"] = 2020
    parameters["fusion"]["cross_validation"]["seed"] = 2020
    pipeline = build_pipelines(load_grid("local", CONF))["fusion"]
    with pytest.raises(ConfigError) as error:
        check_parameters(
            pipeline,
            lambda name: parameter_block(parameters, name),
            blocks={"fusion", "feature_fusion"},
            files=parameter_files(conf, ["base", "local"]),
        )
    message = str(error.value)
    assert "text_transformr: unknown parameter block" in message
    assert f"fusion.training.epoch: unknown key (did you mean 'epochs'?)  ({conf}/local/" in (
        message
    )
    assert "fusion.decisions.prior_correction: 2: Input should be less than or equal to 1" in (
        message
    )  # a scalar of a block is checked before the run too
    assert "fusion.prior_correction: unknown key" in message  # beside the parts nodes read
    assert "feature_fusion: missing key" not in message  # a block is named once per problem


def test_a_variant_any_environment_declares_keeps_its_block_known(tmp_path: Path):
    conf = tmp_path / "conf"
    grids = {"base": ["text_transformer"], "paper": ["image_dcl_clean"], "extra": ["text_x"]}
    for env, names in grids.items():
        (conf / env).mkdir(parents=True)
        grid = {"text": [{"name": name} for name in names if name.startswith("text")]}
        grid["image"] = [{"name": name} for name in names if name.startswith("image")]
        (conf / env / "parameters_grid.yml").write_text(yaml.safe_dump({"grid": grid}))
    (conf / "extra" / "parameters_other.yml").write_text(yaml.safe_dump({"text_y": {}}))
    (conf / "empty").mkdir()  # no parameters: not an environment
    assert environments(conf) == ["base", "extra", "paper"]
    declared = variants_declared_in(parameter_files(conf, environments(conf)))
    assert declared == {"text_transformer", "image_dcl_clean", "text_x"}  # text_y: no grid


def rakuten_overrides() -> list[str]:
    """Leaves of conf/rakuten parameters that restate conf/base's value."""
    restated = []
    for file in sorted((CONF / "rakuten").glob("parameters_*.yml")):
        base_file = CONF / "base" / file.name
        if not base_file.exists():
            continue
        env, base = yaml.safe_load(file.read_text()), yaml.safe_load(base_file.read_text())

        def walk(node, reference, path):
            for key, value in node.items():
                if isinstance(value, dict) and isinstance(reference.get(key), dict):
                    walk(value, reference[key], [*path, key])
                elif key in reference and reference[key] == value:
                    restated.append(".".join([*path, key]))

        walk(env, base, [file.name])
    return restated


def test_conf_rakuten_states_only_what_differs_from_base():
    assert rakuten_overrides() == []


def test_a_mistyped_key_stops_kedro_run_naming_the_key_and_the_file(tmp_path: Path):
    project = scratch_project(tmp_path / "project")
    typo = project / "conf" / "local" / "parameters.yml"
    typo.write_text("text_transformer:\n  training:\n    lerning_rate: 0.1\n")
    result = kedro(project, "run", "--nodes", "encode_labels_node")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "text_transformer.training.lerning_rate: unknown key" in output
    assert "parameters.yml" in output  # (the path may be wrapped by the console)
    assert "Traceback" not in output  # the message alone (kedro run -v: the traceback)
    assert not (project / "data/03_primary/label_encoding.json").exists()  # nothing ran
