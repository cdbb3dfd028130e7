"""Shared helpers of the benchmark scripts: machine info, timing, demo inputs, table + JSON.

Every script calls :func:`start` first (records the load average before any work), builds its
rows with :func:`row`, and ends with :func:`finish`, which prints a table and writes
``benchmarks/results/<name>.json`` with the machine, the load, the peak memory and the rows.
Parameter blocks come from ``conf/`` as a run reads them (:func:`params`, the tests' reader),
with the benchmark's sizes as overrides.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from rakuten_kedro.datasets.image_cache import ImageCacheDataset
from rakuten_kedro.datasets.rakuten_raw import RakutenRawDataset
from rakuten_kedro.demo import generate_demo_dataset
from rakuten_kedro.pipelines.preprocessing.nodes import (
    clean_products,
    describe_image_cache,
    encode_labels,
    split_train_validation,
)

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
# The scripts run from benchmarks/; the project's parameter reader is the tests' (tests.params).
sys.path.append(str(PROJECT))
from tests.params import parameters, params  # noqa: E402, F401 - the scripts read them here

RESULTS_DIR = BENCH_DIR / "results"
#: Generated inputs are kept here between scripts (one folder per demo size).
SCRATCH = Path(
    os.environ.get("RAKUTEN_BENCH_SCRATCH", Path(tempfile.gettempdir()) / "rakuten_bench")
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore", category=UserWarning)

#: ``RAKUTEN_BENCH_THREADS=N`` sets torch's intra-op threads (default: torch's own choice).
#: On a shared CPU, fewer threads than cores can be much faster (see ``cpu_threads.py``).
if os.environ.get("RAKUTEN_BENCH_THREADS"):
    torch.set_num_threads(int(os.environ["RAKUTEN_BENCH_THREADS"]))

#: Read when the script starts (``common`` is imported before the heavy work).
_LOAD_AT_IMPORT = list(os.getloadavg())
_STATE: dict[str, Any] = {}


# -- machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def bf16_support() -> dict[str, Any]:
    """Whether this CPU has native bf16 matrix instructions (AVX512-BF16 or AMX-BF16)."""

    flags = cpu_flags()
    native = sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile"})
    return {
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16_flags": native,
        "amx": "amx_bf16" in flags,
        "fast_bf16_expected": bool(flags & {"avx512_bf16", "amx_bf16"}),
    }


def machine_info() -> dict[str, Any]:
    """CPU model, cores, torch version, GPU name (or "none"), for every result file."""

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": usable,
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "gpu": gpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# -- running ----------------------------------------------------------------------------------


def start(name: str) -> None:
    """Record the start time and the load average before the benchmark runs."""
    _STATE.update(name=name, t0=time.perf_counter(), load_at_start=_LOAD_AT_IMPORT)
    print(f"== {name} (load average at start: {_STATE['load_at_start'][0]:.2f})", flush=True)


def torch_threads_for_load(choice: str) -> int:
    """Torch intra-op threads for a run: ``N``, ``0`` (torch's default: one per core), or
    ``auto``: one when the CPU is already busy (load average >= usable cores - 0.5), else 0.

    On a shared CPU one thread can be several times faster than one per core
    (``cpu_threads.py``): OpenMP threads wait at every operator barrier while a core is taken.
    """
    if choice != "auto":
        return int(choice)
    cores, load = len(os.sched_getaffinity(0)), os.getloadavg()[0]
    threads = 1 if load >= cores - 0.5 else 0
    print(f"load average {load:.2f} on {cores} cores: torch threads {threads} (0 = default)")
    return threads


def timeit(fn: Callable[[], Any], repeat: int = 3, warmup: int = 1) -> float:
    """The best wall time of ``repeat`` calls of ``fn`` in seconds, after ``warmup`` calls.

    The best rather than the mean: the machine is shared, and other work only slows a run.
    """
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def compare(
    fast: Callable[[], Any], naive: Callable[[], Any], repeat: int = 3, warmup: int = 1
) -> tuple[float, float]:
    """Best wall times ``(fast_s, naive_s)``, the two runs interleaved.

    Interleaving spreads the load of a shared machine over both sides of a ratio.
    """
    for _ in range(warmup):
        naive()
        fast()
    best_fast = best_naive = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        naive()
        best_naive = min(best_naive, time.perf_counter() - t0)
        t0 = time.perf_counter()
        fast()
        best_fast = min(best_fast, time.perf_counter() - t0)
    return best_fast, best_naive


def row(
    metric: str, value: float, unit: str, *, naive: float | None = None, note: str = ""
) -> dict[str, Any]:
    """One result line; with ``naive`` (same unit, higher is better) the ratio is added."""
    entry: dict[str, Any] = {"metric": metric, "value": round(float(value), 4), "unit": unit}
    if naive is not None:
        entry["naive"] = round(float(naive), 4)
        entry["ratio"] = round(float(value) / float(naive), 3) if naive else None
    if note:
        entry["note"] = note
    return entry


def peak_rss_mb() -> float:
    """Peak resident memory of this process (and its waited-for children), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    per_mib = 2**20 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return round(max(own, children) / per_mib, 1)


def print_table(rows: list[dict[str, Any]]) -> None:
    """A small fixed-width table: metric, value, unit, naive, ratio."""
    header = f"{'metric':<52} {'value':>11} {'unit':<14} {'naive':>11} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for entry in rows:
        naive = f"{entry['naive']:>11.4g}" if "naive" in entry else " " * 11
        ratio = f"{entry['ratio']:>6.2f}x" if entry.get("ratio") is not None else ""
        print(f"{entry['metric']:<52} {entry['value']:>11.4g} {entry['unit']:<14} {naive} {ratio}")
        if entry.get("note"):
            print(f"    ({entry['note']})")


def finish(rows: list[dict[str, Any]], path: Path | None = None, **extra: Any) -> dict[str, Any]:
    """Print the table and write ``path`` (default ``results/<name>.json``); returns it."""
    name = _STATE["name"]
    result = {
        "benchmark": name,
        "measured_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine_info(),
        "load_average_at_start": _STATE["load_at_start"],
        "wall_seconds": round(time.perf_counter() - _STATE["t0"], 2),
        "peak_rss_mb": peak_rss_mb(),
        "results": rows,
        **extra,
    }
    print_table(rows)
    print(f"wall {result['wall_seconds']} s, peak RSS {result['peak_rss_mb']} MiB")
    path = path or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", flush=True)
    return result


def replace_readme_block(readme: Path, name: str, markdown: str) -> None:
    """Replace the generated block ``name`` of a README (between its two marker comments).

    Raises:
        ValueError: When the markers are missing (add them where the block belongs).
    """
    begin = f"<!-- BEGIN {name} (generated by benchmarks/{name}.py: do not edit by hand) -->"
    end = f"<!-- END {name} -->"
    text = readme.read_text(encoding="utf-8")
    head, found, rest = text.partition(begin)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"{readme} has no generated block {name!r}: add the lines\n{begin}\n{end}")
    readme.write_text(f"{head}{begin}\n{markdown}\n{end}{tail}", encoding="utf-8")


# -- inputs -----------------------------------------------------------------------------------


def demo_dir(n_products: int = 600, n_test: int = 60, image_size: int = 128) -> Path:
    """A generated demo dataset (challengedata layout), made once and reused by every script."""

    folder = SCRATCH / f"demo_{n_products}_{n_test}_{image_size}"
    if not (folder / "demo_manifest.json").is_file():
        partial = folder.with_name(folder.name + f".partial{os.getpid()}")
        generate_demo_dataset(
            partial,
            n_products=n_products,
            n_test=n_test,
            image_size=image_size,
            min_per_class=max(4, n_products // 100),
            progress=False,
        )
        partial.replace(folder)
    return folder


def demo_products(folder: Path) -> Any:
    """The labelled products as the pipelines see them: cleaned, labelled, split 9:1."""

    raw = RakutenRawDataset(source="challengedata", raw_dir=str(folder), subset="train").load()
    return split_train_validation(
        clean_products(raw), encode_labels(), params("preprocessing.split")
    )


def image_cache(products: Any, sizes: tuple[int, ...] = (32, 64)) -> Any:
    """The decode-once cache of the products' photos (built once into the scratch folder)."""

    folder = SCRATCH / f"cache_{len(products)}_{'_'.join(map(str, sizes))}"
    dataset = ImageCacheDataset(path=str(folder))
    options = params("preprocessing.image_cache", sizes=list(sizes), on_bad_image="placeholder")
    spec = describe_image_cache(products, options)
    dataset.save(spec)
    return dataset.load()
