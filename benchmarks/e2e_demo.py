"""End to end: the whole method (``kedro run``) on a small demo, in a scratch copy of the project.

As ``tests/integration/test_demo_run.py`` does (``tests/kedro_project.py``): copy ``conf/``
(without ``conf/local``) and ``pyproject.toml`` into a temporary folder with an empty ``src/``
and the data layers, generate the demo data (``--pipeline preprocessing``, timed too), then
time the full ``kedro run``.
Long (~5 min on 2 cores): ``run_all.py`` runs it only with ``--e2e``.

    python benchmarks/e2e_demo.py [--params "demo.n_products=1200,demo.n_test=120"] [--keep]
    python benchmarks/e2e_demo.py --threads 1   # OMP_NUM_THREADS=1 (shared CPU)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import common
from tests.kedro_project import KEDRO_CLI, TINY_DEMO, kedro_environment, scratch_project


def kedro(
    project: Path, *args: str, threads: int | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    # OMP_NUM_THREADS: torch's intra-op threads.
    environment = kedro_environment(**({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    t0 = time.perf_counter()
    result = subprocess.run(
        [str(KEDRO_CLI), *args], cwd=project, env=environment, capture_output=True, text=True,
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
        default=TINY_DEMO,
        help="kedro --params of both runs (the integration test's tiny demo)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch project")
    parser.add_argument(
        "--threads", type=int, help="OMP_NUM_THREADS of the kedro runs (default: torch's)"
    )
    args = parser.parse_args(argv)
    common.start("e2e_demo" + (f"_threads{args.threads}" if args.threads else ""))
    project = scratch_project(Path(tempfile.mkdtemp(prefix="rakuten_e2e_")))
    try:
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
