"""Planning table: wall time, GPU memory and disk of each stage on the full challenge data.

Multiplies the work each stage does with the ``conf/rakuten`` parameters (products, epochs,
folds, image sizes) by a throughput per stage. Without measured GPU figures the throughputs are
**estimates** (``ASSUMED``: public reference figures for one H100 in bf16, scaled by FLOPs; see
each note); pass measured ones to replace them, e.g. from a GPU run of the other benchmarks:

    python benchmarks/planning.py
    python benchmarks/planning.py --throughput text_base=2400 --throughput image_224=1300

Epoch counts are the configured maxima; early stopping (text, ``patience: 5``) usually ends
sooner, so the text rows are upper bounds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import common
import yaml

RAKUTEN_CONF = common.PROJECT / "conf" / "rakuten"
#: The challenge's labelled products and test products (challengedata.ens.fr).
N_LABELLED, N_TEST = 84_916, 13_812
#: Training rows the paper's denoising removes (10 % of cleanlab's ranked issues).
DROPPED_BY_DENOISING = 2_120

#: Training throughput per stage on one H100 (bf16 autocast), with where each comes from.
ASSUMED: dict[str, tuple[float, str, str]] = {
    "cache": (1_000.0, "photos/s", "500 px JPEG decode + 2 resizes on 8 CPU threads, and "
              "0.75 MB written per photo; this 2-core CPU measured 1,180 photos/s at 32+64 px"),
    "text_base": (2_000.0, "samples/s", "camembert-base, 128 tokens, bf16: ~6·params·tokens "
                  "FLOPs at ~30 % of H100 bf16 peak"),
    "denoise_r50_224": (3_000.0, "images/s", "ResNet50 224 px bf16 channels_last "
                        "(NVIDIA DeepLearningExamples A100 ~2,700 img/s, H100 higher)"),
    "image_224": (1_100.0, "images/s", "ResNet152 224 px: ResNet50 figure × 4.1/11.5 GFLOPs"),
    "image_448": (275.0, "images/s", "ResNet152 448 px: the 224 px figure / 4 (pixels)"),
    "fusion": (29_500.0, "row-epochs/s", "measured on this 2-core CPU, 1 thread "
               "(benchmarks/fusion.py: 8 folds x 40 epochs x 300 rows in 2.85 s)"),
}  # fmt: skip

#: Rough peak GPU memory of each training stage at the conf/rakuten batch sizes (bf16).
GPU_MEMORY_GB = {"text": 10, "denoising": 14, "stage1": 20, "stage2": 35}


def load_parameters() -> dict:
    """Every ``parameters_*.yml`` of ``conf/rakuten`` merged (YAML anchors resolved)."""
    merged: dict = {}
    for path in sorted(RAKUTEN_CONF.glob("parameters_*.yml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return merged


def plan(params: dict, speed: dict[str, float]) -> list[dict]:
    """One row per stage: what it processes, how long it takes, its memory and disk."""
    n_train = round(N_LABELLED * (1 - params["preprocessing"]["split"]["validation_fraction"]))
    kept = n_train - DROPPED_BY_DENOISING
    text = params["text_transformer"]["training"]
    folds = params["denoising"]["folds"]
    denoise = params["denoising"]["train"]
    sizes = params["preprocessing"]["image_cache"]["sizes"]
    cache_gb = sum((N_LABELLED + N_TEST) * size * size * 3 for size in sizes) / 1e9
    rows = [
        ("image cache", N_LABELLED + N_TEST, speed["cache"], 0, cache_gb),
        ("text_transformer (camembert-base)", n_train * text["epochs"], speed["text_base"],
         GPU_MEMORY_GB["text"], 0.5),
        (f"denoising CV ({folds} folds, ResNet50 224 px)",
         folds * denoise["epochs"] * n_train * (folds - 1) // folds, speed["denoise_r50_224"],
         GPU_MEMORY_GB["denoising"], 0.1 * folds),
    ]  # fmt: skip
    for variant, train_rows in (("image_dcl_clean", kept), ("image_plain_noisy", n_train)):
        stage1, stage2 = params[variant]["stage1"], params[variant]["stage2"]
        dcl = 2 if stage2.get("dcl", {}).get("enabled") else 1  # destructed copies
        rows.append((f"{variant} stage 1 (ResNet152 224 px)", stage1["epochs"] * train_rows,
                     speed["image_224"], GPU_MEMORY_GB["stage1"], 0.25))  # fmt: skip
        rows.append((f"{variant} stage 2 ({'DCL' if dcl == 2 else 'plain'} 448 px)",
                     stage2["epochs"] * train_rows * dcl, speed["image_448"],
                     GPU_MEMORY_GB["stage2"], 0.25))  # fmt: skip
    fusion = params["fusion"]
    folds, epochs = fusion["cross_validation"]["n_folds"], fusion["training"]["epochs"]
    inner = 2 if fusion["cross_validation"].get("epoch_selection") == "inner" else 1
    members = len(params["ensemble"]["members"])
    n_val = N_LABELLED - n_train
    rows.append((f"fusion CV ({members} members, CPU)",
                 members * folds * epochs * inner * n_val * (folds - 1) // folds,
                 speed["fusion"], 0, 0.1))  # fmt: skip
    return [
        {"stage": stage, "items": items, "hours": items / rate / 3600, "gpu_memory_gb": memory,
         "disk_gb": disk}
        for stage, items, rate, memory, disk in rows
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--throughput", action="append", default=[], metavar="STAGE=PER_SECOND",
        help=f"a measured figure replacing an estimate; stages: {', '.join(ASSUMED)}",
    )  # fmt: skip
    args = parser.parse_args(argv)
    speed = {stage: rate for stage, (rate, _, _) in ASSUMED.items()}
    measured = dict(item.split("=", 1) for item in args.throughput)
    unknown = set(measured) - set(ASSUMED)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; known: {', '.join(ASSUMED)}")
    speed.update({stage: float(rate) for stage, rate in measured.items()})
    common.start("planning")
    rows = plan(load_parameters(), speed)
    print(f"{'stage':<44} {'items':>11} {'hours':>6} {'GPU GB':>7} {'disk GB':>8}")
    for row in rows:
        print(f"{row['stage']:<44} {row['items']:>11,} {row['hours']:>6.2f} "
              f"{row['gpu_memory_gb']:>7} {row['disk_gb']:>8.1f}")  # fmt: skip
    total = sum(row["hours"] for row in rows)
    print(f"{'total (one GPU, one stage after another)':<44} {'':>11} {total:>6.1f}")
    result = {
        "benchmark": "planning",
        "estimated": sorted(set(ASSUMED) - set(measured)),
        "throughputs": {
            stage: {
                "value": speed[stage],
                "unit": unit,
                "source": "measured" if stage in measured else f"estimate: {note}",
            }
            for stage, (_, unit, note) in ASSUMED.items()
        },  # fmt: skip
        "stages": rows,
        "total_hours": total,
    }
    out = common.RESULTS_DIR / "planning.json"
    Path(out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
