"""What the README says about tracking and serving is what the project does: where runs are
stored (inside the project, git-ignored), the ports, the measured serving figures."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.kedro_project import PROJECT, makefile_default

README = (PROJECT / "README.md").read_text(encoding="utf-8")
MLFLOW_SETTINGS = yaml.safe_load((PROJECT / "conf/base/mlflow.yml").read_text(encoding="utf-8"))
SERVING = json.loads((PROJECT / "benchmarks/results/serving.json").read_text(encoding="utf-8"))


def git_ignored(path: str) -> bool:
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=PROJECT, check=False)
    if result.returncode not in (0, 1):
        pytest.skip("not a git checkout")
    return result.returncode == 0


def test_runs_are_stored_inside_the_project_and_git_ignored():
    store = MLFLOW_SETTINGS["server"]["mlflow_tracking_uri"]
    artifacts = MLFLOW_SETTINGS["tracking"]["experiment"]["create_experiment_kwargs"]
    assert store == makefile_default("MLFLOW_STORE") == "sqlite:///mlruns.db"  # relative
    assert artifacts["artifact_location"] == "mlruns"
    assert git_ignored("mlruns.db") and git_ignored("mlruns/1/model/MLmodel")
    assert "`mlruns.db`" in README and "`mlruns/`" in README


def test_the_readme_names_the_ports_make_serves_on():
    serve_port, ui_port = makefile_default("SERVE_PORT"), makefile_default("UI_PORT")
    assert MLFLOW_SETTINGS["ui"]["port"] == ui_port  # kedro mlflow ui: the same page
    assert f"make serve        # http://127.0.0.1:{serve_port}," in README
    assert f"curl -s http://127.0.0.1:{serve_port}/invocations" in README
    assert f"at http://127.0.0.1:{ui_port}." in README


def test_the_readme_serving_table_is_the_measured_one():
    table = re.search(r"\| products per request \|.*?\n\n", README, re.DOTALL).group(0)
    rows = [line for line in table.splitlines() if re.match(r"\| \d", line)]
    measured = [
        f"| {size} | {figures['p50_s']:.2f} s | {figures['p95_s']:.2f} s | "
        f"{figures['products_per_s']} |"
        for size, figures in SERVING["batches"].items()
    ]
    assert rows == measured
