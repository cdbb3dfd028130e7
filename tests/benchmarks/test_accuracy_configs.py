"""accuracy.py's configurations of the whole method: the project's environments, the run's
configuration copied into the scratch project afresh, and the report naming only them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import accuracy
import accuracy_report
import fusion_refit
import pytest

from rakuten_kedro.grid import parse_grid
from tests.kedro_project import PROJECT


def test_the_configurations_are_the_default_run_and_the_projects_environments():
    configs = accuracy.CONFIGS.items()
    assert {name: (config.env, dict(config.params)) for name, config in configs} == {
        "default": (None, {}), "paper": ("paper", {}), "quality": ("quality", {}),
        "paper_fused_denoising": (
            "paper", {"denoising.probabilities": "image_and_text", "denoising.drop_fraction": "1.0"}
        ),
        "default_no_prior_correction": (None, {"fusion.decisions.prior_correction": "0.0"}),
        "default_all_rows": (None, {}),
        "default_two_members": (None, {}),
        "quality_two_members": (None, {}),
        "default_text_denoised": (None, {"denoising.drop_margin": "6.0"}),
        "default_denoised_both": (None, {}),
    }  # fmt: skip
    for config in accuracy.CONFIGS.values():
        assert config.env is None or (PROJECT / "conf" / config.env).is_dir()


def test_a_fusion_refit_reads_the_parameters_its_configuration_runs_with():
    members = fusion_refit.config_parameters(accuracy.CONFIGS["default_all_rows"], {})["grid"]
    assert [m["image"] for m in members["members"]] == ["image_plain_noisy"] * 2  # its grid
    plain = fusion_refit.config_parameters(accuracy.CONFIGS["default_no_prior_correction"], {})
    assert plain["fusion"]["decisions"]["prior_correction"] == 0.0  # its --params
    assert plain["fusion"]["training"]["epochs"] == 40  # the rest: conf/base's
    paper = fusion_refit.config_parameters(accuracy.CONFIGS["paper"], {"ensemble.rule": "majority"})
    assert paper["fusion"]["decisions"]["prior_correction"] == 0.0
    assert paper["ensemble"]["rule"] == "majority"
    assert len(paper["grid"]["members"]) == 5


def test_every_configuration_declares_a_valid_grid_of_the_runs_it_stands_for():
    grids = {
        name: parse_grid(fusion_refit.config_parameters(config, {}), source=name)
        for name, config in accuracy.CONFIGS.items()
    }
    assert len(grids["default"].members) == 4
    assert {v.training_ids for v in grids["default"].text} == {"all", "denoised"}
    for before in ("default_two_members", "default_no_prior_correction", "default_all_rows"):
        assert [(v.name, v.training_ids) for v in grids[before].text] == [
            ("text_transformer", "all"), ("text_tfidf", "all")
        ]  # fmt: skip
        assert len(grids[before].members) == 2
    assert len(grids["quality"].members) == 12 and len(grids["quality_two_members"].members) == 6
    assert {v.training_ids for v in grids["default_text_denoised"].text} == {"denoised"}


def _stored_names(names: list[str]) -> list[str]:
    """The stored methods among report names (derived ones have a ``kind:`` prefix)."""
    return [name for name in names if ":" not in name]


def test_the_report_names_stored_methods_of_known_configurations_only():
    names = list(accuracy_report.HEADLINE_METHODS) + [
        name for pair in accuracy_report.KEY_DIFFERENCES.values() for name in pair
    ]
    prefixes = {*accuracy.CONFIGS, "image", "text", "corner"}
    assert {name.split(".")[0] for name in _stored_names(names)} <= prefixes
    assert accuracy_report.REFERENCE == "default.ensemble"


def _stale_scratch_project(tmp_path: Path) -> Path:
    """A scratch project made before the configuration changed: an old conf/base, an
    environment the project no longer has, and the scratch project's own conf/local."""
    project = tmp_path / "projects" / "demo_like"
    for folder in ("base", "fast", "local"):
        (project / "conf" / folder).mkdir(parents=True)
    (project / "conf" / "base" / "parameters_grid.yml").write_text("grid: {old: true}\n")
    (project / "conf" / "base" / "parameters_old.yml").write_text("old: true\n")
    (project / "conf" / "fast" / "parameters_grid.yml").write_text("grid: {}\n")
    (project / "conf" / "local" / "parameters_tracking.yml").write_text("tracking: {}\n")
    return project


def _same_files(left: Path, right: Path) -> bool:
    files = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file()) and all(
        (left / f).read_bytes() == (right / f).read_bytes() for f in files
    )


@pytest.mark.parametrize(
    "config", ["default", "paper", "paper_fused_denoising", "default_all_rows"]
)
def test_a_run_refreshes_a_stale_scratch_projects_configuration(tmp_path, monkeypatch, config):
    monkeypatch.setattr(accuracy, "SCRATCH", tmp_path)
    monkeypatch.setattr(accuracy, "ensure_data", lambda setting: tmp_path / "data")
    project = _stale_scratch_project(tmp_path)
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(accuracy.subprocess, "run", fake_run)
    setting = accuracy.SETTING_BY_NAME["demo_like"]

    accuracy.kedro_run(setting, 0, accuracy.CONFIGS[config])

    conf = project / "conf"
    for folder in (p for p in (PROJECT / "conf").iterdir() if p.is_dir() and p.name != "local"):
        assert _same_files(folder, conf / folder.name), folder.name
    assert not (conf / "fast").exists()
    if candidate := dict(accuracy.CONFIGS[config].conf):  # a candidate environment: written
        assert {p.name: p.read_text() for p in (conf / config).glob("*")} == candidate
    assert (conf / "local" / "parameters_tracking.yml").read_text() == "tracking: {}\n"
    (command,) = calls
    env = accuracy.CONFIGS[config].run_env
    assert ("--env" in command) == (env is not None)
    if env is not None:
        assert command[command.index("--env") + 1] == env
    run_params = command[command.index("--params") + 1].split(",")
    assert "tracking.enabled=false" in run_params
    extra = [f"{key}={value}" for key, value in accuracy.CONFIGS[config].params]
    assert run_params[len(run_params) - len(extra) :] == extra  # the configuration's own
    timings = accuracy.read_json(accuracy.run_folder(setting, 0) / "timings.json")
    assert list(timings) == [config]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stage", "base"], "stage 'base' is now 'whole'"),
        (["--stage", "whole,paper"], "stage 'paper' is now 'corners'"),
        (["--stage", "wholes"], "unknown stage 'wholes'"),
        (["--configs", "base"], "'base' is now 'paper'"),
        (["--configs", "default,fast"], "'fast' is now 'default'"),
    ],
)
def test_earlier_stage_and_configuration_names_are_refused_with_their_new_names(
    argv, message, capsys
):
    with pytest.raises(SystemExit):
        accuracy.main(["run", *argv])
    assert message in capsys.readouterr().err


def test_a_candidate_environment_overlays_conf_base_only():
    with pytest.raises(ValueError, match="candidate environment overlays conf/base only"):
        accuracy.RunConfig("x", env="paper", conf=(("parameters_grid.yml", "grid: {}\n"),))


def test_only_the_files_a_run_wrote_are_kept(tmp_path):
    project, keep = tmp_path / "project", tmp_path / "kept"
    for relative in ("data/08_reporting/results.json", "data/03_primary/label_issues.csv"):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(relative)
    earlier = project / "data/03_primary/label_issues.csv"  # an earlier run's, left in place
    os.utime(earlier, (1_000_000, 1_000_000))

    accuracy.keep_run_files(project, keep, since=2_000_000)

    assert sorted(p.name for p in keep.iterdir()) == ["results.json"]
