"""End to end: the whole method (``kedro run``) on a small demo, in a scratch copy of the project.

As ``tests/integration/test_demo_run.py`` does: copy ``conf/`` (without ``conf/local``) and
``pyproject.toml`` into a temporary folder with an empty ``src/`` and the data layers, generate
the demo data (``--pipeline preprocessing``, timed too), then time the full ``kedro run``.
Long (~5 min on 2 cores): ``run_all.py`` runs it only with ``--e2e``.

    python benchmarks/e2e_demo.py [--params "demo.n_products=1200,demo.n_test=120"] [--keep]
    python benchmarks/e2e_demo.py --threads 1   # OMP_NUM_THREADS=1 (shared CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

LAYERS = ["01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting"]  # fmt: skip


def kedro(
    project: Path, *args: str, threads: int | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "KEDRO_DISABLE_TELEMETRY": "true"}
    if threads:
        environment["OMP_NUM_THREADS"] = str(threads)  # torch's intra-op threads
    cli = Path(sys.executable).with_name("kedro")
    t0 = time.perf_counter()
    result = subprocess.run(
        [str(cli), *args], cwd=project, env=environment, capture_output=True, text=True,
        timeout=3600, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"kedro {' '.join(args)} failed:\n{result.stderr[-5000:]}")
    return seconds, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--params",
        default="demo.n_products=1200,demo.n_test=120",
        help="kedro --params of both runs (the integration test's tiny demo)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch project")
    parser.add_argument(
        "--threads", type=int, help="OMP_NUM_THREADS of the kedro runs (default: torch's)"
    )
    args = parser.parse_args(argv)
    common.start("e2e_demo" + (f"_threads{args.threads}" if args.threads else ""))
    project = Path(tempfile.mkdtemp(prefix="rakuten_e2e_"))
    try:
        shutil.copytree(
            common.PROJECT / "conf", project / "conf", ignore=shutil.ignore_patterns("local")
        )
        (project / "conf" / "local").mkdir()
        shutil.copy(common.PROJECT / "pyproject.toml", project / "pyproject.toml")
        (project / "src").mkdir()  # Kedro checks it exists; the package comes from the install
        for layer in LAYERS:
            (project / "data" / layer).mkdir(parents=True)
        prep_s, _ = kedro(
            project, "run", "--pipeline", "preprocessing", "--params", args.params,
            threads=args.threads,
        )  # fmt: skip
        full_s, _ = kedro(project, "run", "--params", args.params, threads=args.threads)
        results = (project / "data/08_reporting/results.json").read_text()
    finally:
        if args.keep:
            print(f"scratch project kept in {project}")
        else:
            shutil.rmtree(project, ignore_errors=True)
    rows = [
        common.row("kedro run --pipeline preprocessing (generates the demo)", prep_s, "s",
                   note="demo generation (500 px JPEGs) + cleaning + split + image cache"),
        common.row("kedro run (the whole method)", full_s, "s",
                   note="preprocessing again (cache up to date), every model, fusion, ensemble"),
    ]  # fmt: skip

    return common.finish(rows, params=vars(args), demo_results=json.loads(results))


if __name__ == "__main__":
    main()
