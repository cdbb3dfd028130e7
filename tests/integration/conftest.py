"""The one end-to-end demo run the integration tests share (it takes minutes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.kedro_project import TINY_DEMO, kedro, scratch_project


def folder_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """A scratch project after a whole `kedro run` of the tiny demo (tracked: the first MLflow
    run of ``test_tracking_and_serving``)."""
    project = scratch_project(tmp_path_factory.mktemp("project"), tracking=True)
    generate = kedro(project, "run", "--pipelines", "preprocessing", "--params", TINY_DEMO)
    assert generate.returncode == 0, generate.stdout[-3000:] + generate.stderr[-5000:]
    raw_before = folder_hashes(project / "data" / "01_raw" / "demo")
    result = kedro(project, "run", "--params", TINY_DEMO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert folder_hashes(project / "data" / "01_raw" / "demo") == raw_before
    return project
