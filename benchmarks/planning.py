"""Planning table: wall time, GPU memory and disk of each stage on the full challenge data.

Multiplies the work each stage does with the ``--env rakuten`` parameters (products, epochs,
folds, image sizes) by a throughput per stage. Every figure is an **estimate** (``FIGURES``:
public reference figures for one H100 in bf16, scaled by FLOPs; see each source) until a
measured one replaces it, which ``benchmarks/gpu_check.py`` does on a GPU:

    python benchmarks/planning.py
    python benchmarks/planning.py --throughput text_base=2400 --gpu-memory text_base=9.1 \\
        --measured-on "NVIDIA H200" --readme README.md

The table says of each throughput and each GPU memory figure whether it was measured or
estimated. Epoch counts are the configured maxima; early stopping (text, ``patience: 5``)
usually ends sooner, so the text rows are upper bounds.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import common

from rakuten_kedro.grid import parse_grid

#: The environment of the full challenge data.
ENV = "rakuten"
#: The challenge's labelled products and test products (challengedata.ens.fr).
N_LABELLED, N_TEST = 84_916, 13_812
#: Training rows the paper's denoising removes (10 % of cleanlab's ranked issues).
DROPPED_BY_DENOISING = 2_120
#: One float32 copy of each network's weights, GB (parameters and buffers × 4 bytes). A trained
#: model is saved once in data/06_models/<variant>/, and its finished training's checkpoint
#: (best weights and history, data/06_models/checkpoints/) holds one more copy, unless
#: ``checkpoints.keep_finished: false`` deletes it after the run; the denoising folds keep only
#: their checkpoints.
WEIGHTS_GB = {"camembert-base": 0.44, "ResNet50": 0.094, "ResNet152": 0.233}


@dataclass(frozen=True)
class Figure:
    """A stage's throughput and peak GPU memory (None: CPU only), and where they come from."""

    rate: float
    unit: str
    gpu_memory_gb: float | None
    source: str
    measured: bool = False
    memory_measured: bool = False


#: One figure per stage: estimates for one H100 in bf16 at the conf/rakuten batch sizes,
#: except fusion (a CPU measurement of the project's own benchmark).
FIGURES: dict[str, Figure] = {
    "cache": Figure(1_000.0, "photos/s", None, "500 px JPEG decode + 2 resizes on 8 CPU "
                    "threads, and 0.75 MB written per photo"),
    "text_base": Figure(2_000.0, "samples/s", 10, "camembert-base, 128 tokens, bf16: "
                        "~6·params·tokens FLOPs at ~30 % of H100 bf16 peak"),
    "denoise_r50_224": Figure(3_000.0, "images/s", 14, "ResNet50 224 px bf16 channels_last "
                              "(NVIDIA DeepLearningExamples A100 ~2,700 img/s, H100 higher)"),
    "image_224": Figure(1_100.0, "images/s", 20, "ResNet152 224 px: ResNet50 figure × "
                        "4.1/11.5 GFLOPs"),
    "image_448": Figure(275.0, "images/s", 35, "ResNet152 448 px: the 224 px figure / 4 "
                        "(pixels)"),
    "image_448_dcl": Figure(137.5, "originals/s", 35, "DCL at 448 px: each original is also "
                            "seen destructed, so half the plain 448 px rate"),
    "fusion": Figure(29_500.0, "row-epochs/s", None, "benchmarks/fusion.py on a 2-core CPU, 1 "
                     "thread, 300 rows (per-epoch costs dominate: a lower bound)", measured=True),
}  # fmt: skip
UNIT_SHORT = {"images/s": "img/s", "originals/s": "originals/s", "photos/s": "photos/s",
              "samples/s": "samples/s", "row-epochs/s": "row-epochs/s"}  # fmt: skip


def load_parameters() -> dict:
    """The parameters of ``kedro run --env rakuten`` (conf/rakuten merged over conf/base)."""
    return common.parameters(ENV)


def plan(params: dict, figures: dict[str, Figure]) -> list[dict]:
    """One row per stage: what it processes, which figure times it, its hours and disk."""
    n_train = round(N_LABELLED * (1 - params["preprocessing"]["split"]["validation_fraction"]))
    kept = n_train - DROPPED_BY_DENOISING
    text = params["text_transformer"]["training"]
    folds = params["denoising"]["folds"]
    denoise = params["denoising"]["train"]
    sizes = params["preprocessing"]["image_cache"]["sizes"]
    cache_gb = sum((N_LABELLED + N_TEST) * size * size * 3 for size in sizes) / 1e9
    rows = [
        (f"image cache ({' + '.join(map(str, sizes))} px, memory-mapped)", "preprocessing",
         "cache", N_LABELLED + N_TEST, cache_gb),
        (f"`text_transformer` (camembert-base, ≤ {text['epochs']} epochs; early stopping ends "
         "sooner)", "text_transformer", "text_base", n_train * text["epochs"],
         2 * WEIGHTS_GB["camembert-base"]),
        (f"denoising CV ({folds} folds × {denoise['epochs']} epochs, ResNet50 "
         f"{denoise['input_size']} px)", "denoising", "denoise_r50_224",
         folds * denoise["epochs"] * n_train * (folds - 1) // folds,
         folds * WEIGHTS_GB["ResNet50"]),
    ]  # fmt: skip
    grid = parse_grid(params, environment=ENV)
    for variant in grid.used_image():
        train_rows = kept if variant.training_ids == "denoised" else n_train
        stage1, stage2 = params[variant.name]["stage1"], params[variant.name]["stage2"]
        rows.append((f"`{variant.name}` stage 1 (ResNet152 {stage1['input_size']} px, "
                     f"{stage1['epochs']} epochs)", variant.name, "image_224",
                     stage1["epochs"] * train_rows, 2 * WEIGHTS_GB["ResNet152"]))  # fmt: skip
        rows.append((f"`{variant.name}` stage 2 ({'DCL' if variant.dcl else 'plain'} "
                     f"{stage2['input_size']} px, {stage2['epochs']} epochs)", variant.name,
                     "image_448_dcl" if variant.dcl else "image_448",
                     stage2["epochs"] * train_rows, 2 * WEIGHTS_GB["ResNet152"]))  # fmt: skip
    fusion = params["fusion"]
    folds, epochs = fusion["cross_validation"]["n_folds"], fusion["training"]["epochs"]
    members = len(grid.members)
    rows.append((f"fusion CV ({members} members × {folds} folds × {epochs} epochs, CPU)",
                 "fusion", "fusion", members * member_row_epochs(params), 0.1))  # fmt: skip
    return [
        {"stage": stage, "pipeline": pipeline, "figure": key, "items": items,
         "hours": items / figures[key].rate / 3600, "gpu_memory_gb": figures[key].gpu_memory_gb,
         "disk_gb": disk}
        for stage, pipeline, key, items, disk in rows
    ]  # fmt: skip


def member_row_epochs(params: dict) -> int:
    """Rows × epochs one ensemble member's fusion CV trains on (its K fold networks).

    Each fold network trains on K - 1 folds, or K - 2 with ``epoch_selection: inner`` (one
    more fold picks its epoch).
    """
    cross_validation = params["fusion"]["cross_validation"]
    folds = int(cross_validation["n_folds"])
    trained = folds - 2 if cross_validation.get("epoch_selection") == "inner" else folds - 1
    n_val = N_LABELLED - round(
        N_LABELLED * (1 - params["preprocessing"]["split"]["validation_fraction"])
    )
    return folds * params["fusion"]["training"]["epochs"] * n_val * trained // folds


def measured_fusion(params: dict, cost_curve: Path) -> Figure | None:
    """The fusion figure from ``cost_curve.py``'s full-size run (one member's CV), if any."""
    if not cost_curve.is_file():
        return None
    measurements = json.loads(cost_curve.read_text(encoding="utf-8"))["measurements"]
    full_size = measurements.get("fusion_cv", {}).get(str(N_LABELLED + N_TEST))
    if full_size is None:
        return None
    # CPU time: one thread, and the wall time of a shared machine includes others' work.
    seconds = full_size.get("cpu_seconds", full_size["seconds"])
    return Figure(member_row_epochs(params) / seconds, "row-epochs/s", None,
                  f"benchmarks/cost_curve.py: one member's fusion CV on the full-size validation "
                  f"split in {seconds:.1f} CPU seconds", measured=True)  # fmt: skip


def four_gpu_hours(rows: list[dict]) -> float:
    """Hours with one GPU per variant: preprocessing, the longest branch, then fusion.

    The branches are independent once ``preprocessing`` has run: the text model, the denoising
    followed by the image model trained on its kept rows, and the image model on all rows.
    """
    hours = {}
    for row in rows:
        hours[row["pipeline"]] = hours.get(row["pipeline"], 0.0) + row["hours"]
    branches = (hours["text_transformer"], hours["denoising"] + hours["image_dcl_clean"],
                hours["image_plain_noisy"])  # fmt: skip
    return hours["preprocessing"] + max(branches) + hours["fusion"]


def _amount(items: int) -> str:
    return f"{items / 1e6:.1f} M" if items >= 1e6 else f"{items:,}"


def _kind(measured: bool) -> str:
    return "measured" if measured else "estimate"


#: Who measured figures given with ``--throughput`` unless told (gpu_check.py says itself).
HAND = "hand (`benchmarks/planning.py --throughput`)"


def markdown_table(
    rows: list[dict], figures: dict[str, Figure], measured_on: str, measured_by: str = HAND
) -> str:
    """The README table, each throughput and GPU memory figure marked measured or estimate."""
    gpu = [f for f in figures.values() if f.gpu_memory_gb is not None]
    caption = (
        f"GPU figures measured on **{measured_on}** by {measured_by}; "
        if any(f.measured for f in gpu)
        else "No GPU figure has been measured yet: every GPU figure is an **estimate** for one "
        "H100 (public reference figures scaled by FLOPs, sources in `benchmarks/planning.py`); "
    ) + "each figure below says which it is."
    lines = [
        caption,
        "",
        "| stage | work | throughput | hours | GPU memory | disk |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        figure = figures[row["figure"]]
        unit = UNIT_SHORT[figure.unit]
        work = f"{_amount(row['items'])} {figure.unit.removesuffix('/s')}"
        rate = f"{figure.rate:,.0f} {unit} ({_kind(figure.measured)})"
        memory = "–"
        if figure.gpu_memory_gb is not None:
            memory = f"{figure.gpu_memory_gb:.0f} GB ({_kind(figure.memory_measured)})"
        lines.append(f"| {row['stage']} | {work} | {rate} | {row['hours']:.2f} | {memory} | "
                     f"{row['disk_gb']:.1f} GB |")  # fmt: skip
    total_hours = sum(row["hours"] for row in rows)
    total_disk = sum(row["disk_gb"] for row in rows)
    lines.append(f"| **total on one GPU, one stage after another** | | | **{total_hours:.1f}** | "
                 f"| **{total_disk:.0f} GB** |")  # fmt: skip
    lines += ["", f"On four GPUs (one variant each, see *Scaling out*): ≈ "
              f"{four_gpu_hours(rows):.1f} hours (`preprocessing`, then the longest of the three "
              "branches: `text_transformer`; `denoising` then `image_dcl_clean`; "
              "`image_plain_noisy`; then fusion)."]  # fmt: skip
    return "\n".join(lines)


def _pairs(items: list[str], parser: argparse.ArgumentParser, option: str) -> dict[str, float]:
    pairs = dict(item.split("=", 1) for item in items)
    unknown = set(pairs) - set(FIGURES)
    if unknown:
        parser.error(f"{option}: unknown stage(s) {sorted(unknown)}; known: {', '.join(FIGURES)}")
    return {stage: float(value) for stage, value in pairs.items()}


def measured_figures(
    throughputs: dict[str, float], gpu_memory: dict[str, float], measured_on: str
) -> dict[str, Figure]:
    """``FIGURES`` with the measured throughputs (and their GPU memory) put in."""
    figures = dict(FIGURES)
    for stage, rate in throughputs.items():
        old = figures[stage]
        figures[stage] = Figure(rate, old.unit, gpu_memory.get(stage, old.gpu_memory_gb),
                                f"measured on {measured_on}", measured=True,
                                memory_measured=stage in gpu_memory)  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--throughput", action="append", default=[], metavar="STAGE=PER_SECOND",
        help=f"a measured figure replacing an estimate; stages: {', '.join(FIGURES)}",
    )  # fmt: skip
    parser.add_argument(
        "--gpu-memory",
        action="append",
        default=[],
        metavar="STAGE=GB",
        help="the measured peak GPU memory of a stage measured with --throughput",
    )
    parser.add_argument("--measured-on", default="a GPU", help="the device of the measured figures")
    parser.add_argument("--measured-by", default=HAND, help="what measured them (for the caption)")
    parser.add_argument("--readme", type=Path, help="rewrite this README's planning table")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "planning.json")
    parser.add_argument("--cost-curve", type=Path, default=common.RESULTS_DIR / "cost_curve.json",
                        help="its full-size fusion CV replaces the fusion estimate")  # fmt: skip
    args = parser.parse_args(argv)  # fmt: skip
    throughputs = _pairs(args.throughput, parser, "--throughput")
    gpu_memory = _pairs(args.gpu_memory, parser, "--gpu-memory")
    if set(gpu_memory) - set(throughputs):
        parser.error("--gpu-memory only for stages whose --throughput was measured with it")
    params = load_parameters()
    figures = measured_figures(throughputs, gpu_memory, args.measured_on)
    fusion = measured_fusion(params, args.cost_curve)
    if fusion is not None and "fusion" not in throughputs:
        figures["fusion"] = fusion
    rows = plan(params, figures)
    table = markdown_table(rows, figures, args.measured_on, args.measured_by)
    print(table)
    if args.readme:
        common.replace_readme_block(args.readme, "planning", table)
    result = {
        "benchmark": "planning",
        "estimated": sorted(stage for stage, figure in figures.items() if not figure.measured),
        "figures": {
            stage: {
                "value": f.rate,
                "unit": f.unit,
                "gpu_memory_gb": f.gpu_memory_gb,
                "measured": f.measured,
                "gpu_memory_measured": f.memory_measured,
                "source": f.source,
            }
            for stage, f in figures.items()
        },  # fmt: skip
        "stages": rows,
        "total_hours": sum(row["hours"] for row in rows),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
