"""Under ``accelerate launch`` only rank 0 writes: data, info.log, .viz/, the lock, the summary.

Every process runs the whole ``kedro run``; the others keep what they would save in memory,
wait for rank 0's image cache, and leave no file behind, not even a log line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rakuten_kedro.demo import generate_demo_dataset
from tests.kedro_project import KEDRO_CLI, kedro_environment, scratch_project

pytestmark = pytest.mark.integration

ACCELERATE = Path(sys.executable).with_name("accelerate")


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("raw") / "rakuten"
    generate_demo_dataset(
        folder, n_products=270, n_test=27, min_per_class=10, image_size=64, progress=False
    )
    return folder


def preprocessing(raw_dir: Path) -> list[str]:
    params = f"data.source=challengedata,data.raw_dir={raw_dir}"
    return ["-m", "kedro", "run", "--pipelines", "preprocessing", "--params", params]


def run(project: Path, command: list[str], **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=project, env=kedro_environment(OMP_NUM_THREADS="1", **env),
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def files(project: Path) -> dict[str, tuple[int, int]]:
    """Every file of the project with its size and modification time."""
    return {
        str(path.relative_to(project)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(project.rglob("*"))
        if path.is_file()
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_rank_other_than_0_writes_nothing_at_all(tmp_path: Path, raw_dir: Path):
    project = scratch_project(tmp_path)
    kedro_run = [str(KEDRO_CLI), *preprocessing(raw_dir)[2:]]
    run(project, kedro_run)
    before = files(project)
    # Rank 0 wrote the outputs, its log and kedro-viz's run files: what rank 1 must not write.
    assert {"info.log", ".viz/stats.json"} <= set(before)
    assert any(name.startswith("data/05_model_input/image_cache/") for name in before)

    result = run(project, kedro_run, RANK="1")

    assert files(project) == before  # nothing created, changed or deleted
    assert "process rank 1:" in result.stdout + result.stderr  # it ran, keeping outputs in memory
    assert "Replacing dataset" not in result.stdout + result.stderr


@pytest.mark.skipif(not ACCELERATE.exists(), reason="accelerate CLI not installed")
def test_two_processes_write_what_one_process_writes(tmp_path: Path, raw_dir: Path):
    single = scratch_project(tmp_path / "single")
    run(single, [str(KEDRO_CLI), *preprocessing(raw_dir)[2:]])
    double = scratch_project(tmp_path / "double")
    launch = [
        str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()),
    ]  # fmt: skip
    result = run(double, [*launch, *preprocessing(raw_dir)])

    assert set(files(double)) == set(files(single))
    # Rank 1 waited for rank 0's image cache, then logged to the console only.
    assert "process rank 1:" in result.stdout + result.stderr
    assert "process rank 1" not in (double / "info.log").read_text()
    assert os.path.getsize(double / "data/05_model_input/image_cache/labelled/manifest.json")
