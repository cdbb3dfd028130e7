"""Run every benchmark, one process each, and print a summary of the ratios.

    python benchmarks/run_all.py          # a few minutes on 2 CPU cores
    python benchmarks/run_all.py --e2e    # plus the end-to-end kedro run (~5 more minutes)
    python benchmarks/run_all.py --only text_model fusion
    python benchmarks/run_all.py --threads 0   # torch's default threads even on a busy CPU

Each script writes ``benchmarks/results/<name>.json``; this one adds nothing of its own but a
summary table (every row that has a ratio) and a non-zero exit status if a script failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common

BENCH_DIR = Path(__file__).resolve().parent
#: In order: the cheap ones first; e2e_demo last and only on request.
SCRIPTS = ["cpu_threads", "image_loading", "text_model", "inference_batching", "precision_bf16",
           "image_training", "denoising", "fusion"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--e2e", action="store_true", help="also time the end-to-end kedro run")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    parser.add_argument(
        "--threads",
        default="auto",
        help="torch intra-op threads of every script (RAKUTEN_BENCH_THREADS): a number, 0 for "
        "torch's default (one per core), or auto (default): 1 when the CPU is already busy "
        "(load average >= usable cores - 0.5), else torch's default",
    )
    args = parser.parse_args(argv)
    environment = dict(os.environ)
    threads = common.torch_threads_for_load(args.threads)
    if threads:
        environment["RAKUTEN_BENCH_THREADS"] = str(threads)
    names = args.only or SCRIPTS + (["e2e_demo"] if args.e2e else [])
    failed = []
    t0 = time.perf_counter()
    for name in names:
        print(f"\n##### {name}", flush=True)
        code = subprocess.call([sys.executable, str(BENCH_DIR / f"{name}.py")], env=environment)
        if code:
            failed.append(name)
    print(f"\n##### summary ({time.perf_counter() - t0:.0f} s)")
    for name in names:
        path = BENCH_DIR / "results" / f"{name}.json"
        if name in failed or not path.is_file():
            print(f"{name}: FAILED" if name in failed else f"{name}: no result")
            continue
        result = json.loads(path.read_text())
        for entry in result["results"]:
            ratio = f"{entry['ratio']:.2f}x" if entry.get("ratio") is not None else ""
            print(f"{name:<20} {entry['metric']:<56} {entry['value']:>10.4g} {entry['unit']:<13} "
                  f"{ratio}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
