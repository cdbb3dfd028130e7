"""Scratch copies of the project for end-to-end `kedro run` tests (the package comes from the
editable install, so the copy holds only conf/, pyproject.toml, an empty src/ and data/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
LAYERS = ["01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting"]  # fmt: skip
KEDRO_CLI = Path(sys.executable).with_name("kedro")
#: A demo small enough for end-to-end runs in tests (every code keeps its minimum count).
TINY_DEMO = "demo.n_products=1200,demo.n_test=120"


def kedro_environment(**extra: str) -> dict[str, str]:
    """The environment of a `kedro run` subprocess: offline, no telemetry, plus ``extra``."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "KEDRO_DISABLE_TELEMETRY": "true", **extra}


def scratch_project(project: Path, tracking: bool = False) -> Path:
    """Fill the empty folder ``project`` with a runnable copy of this project's configuration.

    MLflow tracking is switched off (``conf/local``) unless ``tracking``: only the tests about
    tracking pay for its store.
    """
    shutil.copytree(PROJECT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    if not tracking:
        (project / "conf" / "local" / "parameters_tracking.yml").write_text(
            "tracking:\n  enabled: false\n"
        )
    shutil.copy(PROJECT / "pyproject.toml", project / "pyproject.toml")
    shutil.copy(PROJECT / ".telemetry", project / ".telemetry")
    (project / "src").mkdir()  # Kedro checks it exists; the package comes from the install
    for layer in LAYERS:
        (project / "data" / layer).mkdir(parents=True)
    return project


def kedro(project: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    """Run ``kedro *args`` in ``project`` to the end (``environment``: extra variables),
    capturing its output."""
    return subprocess.run(
        [str(KEDRO_CLI), *args], cwd=project, env=kedro_environment(**environment),
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
