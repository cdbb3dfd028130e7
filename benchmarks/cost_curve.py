"""Cost curve to full size: time and peak memory of every CPU-bound stage as the data grows.

Synthetic data in the challengedata layout (the demo generator, 500 px JPEGs) is generated once
per size into ``<scratch>/cost_curve/n<labelled>/data`` (``RAKUTEN_BENCH_SCRATCH``, default
``$TMPDIR/rakuten_bench``), with the real data's test share (13,812 test per 84,916 labelled).
Each stage then runs in a fresh subprocess that loads its inputs, resets the kernel's peak-RSS
counter and times the functions the pipeline's nodes call, with the ``conf/rakuten``
parameters: so each figure is that stage alone, and its memory is the stage's own peak.

    python benchmarks/cost_curve.py                              # 10 k, 30 k, 84,916 labelled
    python benchmarks/cost_curve.py --sizes 10000 30000 --stages read_validate image_cache
    python benchmarks/cost_curve.py --report                     # redraw plot and table only

Generated data is reused (the generator runs only where a size has none); a stage's inputs
are made by the stages before it when missing. Measurements merge into
``results/cost_curve.json`` (a rerun replaces the (stage, size) pairs it measured), then the
growth exponents (log-log slope over the sizes), ``docs/images/cost_curve.png`` and the README
table are rebuilt from everything in that file.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import numpy as np
import pandas as pd
import planning

from fusion import synthetic_probs

STAGE_ORDER = (
    "generate",
    "read_validate",
    "clean",
    "split",
    "image_cache",
    "tfidf",
    "fusion_cv",
    "ensemble",
    "reporting",
    "predict",
)
DEFAULT_SIZES = (10_000, 30_000, planning.N_LABELLED)
#: The image cache is measured at the demo sizes and extrapolated to the configured ones.
DEMO_CACHE_SIZES = (32, 64)
#: Photos of the side measurement that calibrates that extrapolation.
SAMPLE_PHOTOS = 1_000
#: A stage whose time grows with an exponent above this is flagged (1 = linear).
SUPERLINEAR = 1.15
#: Stages that stream their input: their own memory should not grow with the data.
STREAMING = {"image_cache"}
#: Memory growth (MiB) below which a streaming stage is not flagged.
FLAT_MEMORY_MIB = 64
RESULT_PATH = common.RESULTS_DIR / "cost_curve.json"
PLOT_PATH = common.PROJECT / "docs" / "images" / "cost_curve.png"
README = common.PROJECT / "README.md"
_RESULT_MARK = "COST_CURVE_RESULT "

#: What each measured part is, for the table and the plot.
LABELS = {
    "generate": "demo generator (benchmark input, not a pipeline stage)",
    "read_validate": "raw reading + validation (train + test)",
    "clean": "text cleaning (train + test)",
    "split": "stratified split",
    "image_cache": "image cache, 32 + 64 px (train + test)",
    "image_cache_224_448": "image cache, 224 + 448 px (extrapolated)",
    "tfidf_fit": "TF-IDF fit",
    "tfidf_predict": "TF-IDF predict (val + test)",
    "fusion_cv": "fusion CV, one member (the configured folds and epochs)",
    "ensemble": "ensemble vote (every member) + submission",
    "reporting": "reporting (scores, table, figures)",
    "predict": "predict: read, clean, photos, every member's folds, top-3",
}


# -- sizes and folders ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One data size: its folders and product counts."""

    n_labelled: int
    scratch: Path

    @property
    def n_test(self) -> int:
        return round(self.n_labelled * planning.N_TEST / planning.N_LABELLED)

    @property
    def products(self) -> int:
        return self.n_labelled + self.n_test

    @property
    def root(self) -> Path:
        return self.scratch / "cost_curve" / f"n{self.n_labelled}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def work(self) -> Path:
        return self.root / "work"


# -- memory of this process -------------------------------------------------------------------


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux ≥ 4.0); False if it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def measured(parts: dict[str, dict], name: str, items: int) -> Iterator[None]:
    """Time the block and record its peak RSS (the process's, when the reset is unavailable).

    CPU time (user + system, every thread) is recorded beside the wall time: on a shared
    machine other work stretches the wall time, much less the CPU time a stage needs.
    """
    own_peak = reset_peak_rss()
    rss_at_start = _status_mib("VmRSS")
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    yield
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    parts[name] = {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "items": int(items),
        "peak_rss_mb": _status_mib("VmHWM") or common.peak_rss_mb(),
        "rss_at_start_mb": rss_at_start,
        "peak_is_the_stages_own": own_peak,
    }


# -- stage inputs -----------------------------------------------------------------------------


def _table(case: Case, name: str) -> pd.DataFrame:
    return pd.read_parquet(case.work / f"{name}.parquet")


def _save(case: Case, **tables: pd.DataFrame) -> None:
    case.work.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_parquet(case.work / f"{name}.parquet")


def _grid() -> Any:
    """The experiment grid of ``--env rakuten`` (its members and variants)."""
    from rakuten_kedro.grid import parse_grid  # noqa: PLC0415

    return parse_grid(planning.load_parameters(), environment=planning.ENV)


def _model_outputs(case: Case) -> dict[str, Any]:
    """Validation and test probabilities of every text and image variant of the members."""
    from rakuten_kedro.pipelines.preprocessing.nodes import encode_labels  # noqa: PLC0415
    from rakuten_kedro.tables import probs_table, validation_rows  # noqa: PLC0415

    products, test = _table(case, "products"), _table(case, "test_products")
    codes = encode_labels()["codes"]
    val_ids, val_labels = validation_rows(products)
    test_ids = test["row_id"].to_numpy(dtype=np.int64)
    test_labels = np.random.default_rng(0).integers(0, len(codes), len(test_ids))
    variants = sorted({v for m in _grid().members for v in (m.text, m.image)})
    outputs: dict[str, Any] = {"products": products, "test_products": test, "codes": codes}
    # The stages after the models only need tables of the right shape: their cost does not
    # depend on the values (speed is measured here, not scores).
    rng = np.random.default_rng(2020)
    for variant in variants:
        outputs[f"{variant}.val_probs"] = probs_table(
            val_ids, synthetic_probs(val_labels, 0.8, rng), codes
        )
        outputs[f"{variant}.test_probs"] = probs_table(
            test_ids, synthetic_probs(test_labels, 0.8, rng), codes
        )
    return outputs


# -- stages (each runs in its own process; returns its measured parts) -----------------------


def stage_generate(case: Case) -> dict[str, dict]:
    from rakuten_kedro.demo import generate_demo_dataset  # noqa: PLC0415

    parts: dict[str, dict] = {}
    with measured(parts, "generate", case.products):
        generate_demo_dataset(
            case.data, n_products=case.n_labelled, n_test=case.n_test, progress=False
        )
    return parts


def stage_read_validate(case: Case) -> dict[str, dict]:
    from rakuten_kedro.datasets.rakuten_raw import RakutenRawDataset  # noqa: PLC0415

    parts: dict[str, dict] = {}
    with measured(parts, "read_validate", case.products):
        raw = {
            subset: RakutenRawDataset(
                source="challengedata", raw_dir=str(case.data), subset=subset
            ).load()
            for subset in ("train", "test")
        }
    _save(case, raw_train=raw["train"], raw_test=raw["test"])
    return parts


def stage_clean(case: Case) -> dict[str, dict]:
    from rakuten_kedro.pipelines.preprocessing.nodes import clean_products  # noqa: PLC0415

    raw_train, raw_test = _table(case, "raw_train"), _table(case, "raw_test")
    parts: dict[str, dict] = {}
    with measured(parts, "clean", case.products):
        clean_train, clean_test = clean_products(raw_train), clean_products(raw_test)
    _save(case, clean_train=clean_train, test_products=clean_test)
    return parts


def stage_split(case: Case) -> dict[str, dict]:
    from rakuten_kedro.pipelines.preprocessing.nodes import (  # noqa: PLC0415
        encode_labels,
        split_train_validation,
    )

    clean_train = _table(case, "clean_train")
    split = planning.load_parameters()["preprocessing"]["split"]
    parts: dict[str, dict] = {}
    with measured(parts, "split", case.n_labelled):
        products = split_train_validation(clean_train, encode_labels(), split)
    _save(case, products=products)
    return parts


def _build_cache(products: pd.DataFrame, folder: Path, sizes: tuple[int, ...]) -> None:
    from rakuten_kedro.datasets.image_cache import ImageCacheDataset  # noqa: PLC0415
    from rakuten_kedro.pipelines.preprocessing.nodes import describe_image_cache  # noqa: PLC0415

    shutil.rmtree(folder, ignore_errors=True)  # measure a build, never "up to date"
    options = {"sizes": list(sizes), "on_bad_image": "placeholder"}
    ImageCacheDataset(path=str(folder)).save(describe_image_cache(products, options))


def stage_image_cache(case: Case) -> dict[str, dict]:
    products, test = _table(case, "products"), _table(case, "test_products")
    full_sizes = tuple(planning.load_parameters()["preprocessing"]["image_cache"]["sizes"])
    sample = products.head(SAMPLE_PHOTOS)
    parts: dict[str, dict] = {}
    with measured(parts, "image_cache", case.products):
        _build_cache(products, case.work / "cache_labelled", DEMO_CACHE_SIZES)
        _build_cache(test, case.work / "cache_test", DEMO_CACHE_SIZES)
    # The same photos at the demo and at the configured sizes: the ratio that extrapolates.
    for name, sizes in (("sample_demo_sizes", DEMO_CACHE_SIZES), ("sample_full_sizes", full_sizes)):
        with measured(parts, name, len(sample)):
            _build_cache(sample, case.work / f"cache_{name}", sizes)
        shutil.rmtree(case.work / f"cache_{name}")
    return parts


def stage_tfidf(case: Case) -> dict[str, dict]:
    # The domain functions, not the nodes: a node may reuse an earlier fit instead of fitting.
    from rakuten_kedro.codes import PRDTYPECODES  # noqa: PLC0415
    from rakuten_kedro.text.tfidf import (  # noqa: PLC0415
        tfidf_probabilities,
        train_tfidf_classifier,
    )

    products, test = _table(case, "products"), _table(case, "test_products")
    params = planning.load_parameters()["text_tfidf"]["model"]
    parts: dict[str, dict] = {}
    with measured(parts, "tfidf_fit", case.n_labelled):
        model = train_tfidf_classifier(products[products["split"] == "train"], params)
    with measured(parts, "tfidf_predict", case.products):
        for rows in (products[products["split"] == "val"], test):
            tfidf_probabilities(model, rows, len(PRDTYPECODES))
    return parts


def stage_fusion_cv(case: Case) -> dict[str, dict]:
    # The domain function, not the node: a node may reuse earlier fold networks.
    from rakuten_kedro.fusion.decision import cross_validate_decision_fusion  # noqa: PLC0415
    from rakuten_kedro.pipelines.fusion.nodes import (  # noqa: PLC0415
        assign_fusion_folds,
        stack_fusion_inputs,
    )

    outputs = _model_outputs(case)
    params = planning.load_parameters()["fusion"]
    member = _grid().baseline_member  # the fusion baselines' member: one decision fusion
    n_val = int((outputs["products"]["split"] == "val").sum())
    parts: dict[str, dict] = {}
    with measured(parts, "fusion_cv", n_val):
        folds = assign_fusion_folds(outputs["products"], params["cross_validation"])
        inputs = stack_fusion_inputs(
            outputs[f"{member.text}.val_probs"],
            outputs[f"{member.image}.val_probs"],
            outputs[f"{member.text}.test_probs"],
            outputs[f"{member.image}.test_probs"],
            outputs["products"],
            {"codes": outputs["codes"]},
        )
        cross_validate_decision_fusion(
            inputs["val_inputs"],
            inputs["val_labels"],
            folds["fold"].to_numpy(),  # in validation-row order, as the inputs
            num_classes=len(outputs["codes"]),
            network=params["networks"][member.network],
            training=params["training"],
            epoch_selection=params["cross_validation"]["epoch_selection"],
            test_inputs=inputs["test_inputs"],
        )
    return parts


def stage_ensemble(case: Case) -> dict[str, dict]:
    from rakuten_kedro.pipelines.ensemble.nodes import (  # noqa: PLC0415
        make_submission,
        vote_test,
        vote_validation,
    )
    from rakuten_kedro.tables import predictions_table, probs_matrix, probs_table  # noqa: PLC0415

    outputs = _model_outputs(case)
    codes, test = outputs["codes"], outputs["test_products"]
    members = _grid().members
    # A member's outputs have the shape of its inputs: reuse its text variant's tables.
    val_tables = [outputs[f"{m.text}.val_probs"] for m in members]
    test_tables = []
    for index, member in enumerate(members):
        probs = probs_matrix(outputs[f"{member.image}.test_probs"], codes)
        probs = np.roll(probs, index, axis=1)  # members disagree, so votes have ties to break
        test_tables += [
            predictions_table(test["row_id"].to_numpy(), probs.argmax(axis=1), codes),
            probs_table(test["row_id"].to_numpy(), probs, codes),
        ]
    encoding = {"codes": codes}
    parts: dict[str, dict] = {}
    with measured(parts, "ensemble", case.products):
        vote_validation(outputs["products"], encoding, *val_tables)
        make_submission(vote_test(encoding, *test_tables), test)
    return parts


def stage_reporting(case: Case) -> dict[str, dict]:
    from rakuten_kedro.pipelines.reporting import nodes  # noqa: PLC0415
    from rakuten_kedro.pipelines.reporting.pipeline import method_sources  # noqa: PLC0415
    from rakuten_kedro.tables import predictions_table, probs_matrix  # noqa: PLC0415

    outputs = _model_outputs(case)
    codes, products = outputs["codes"], outputs["products"]
    any_val_probs = next(v for k, v in outputs.items() if k.endswith(".val_probs"))
    tables = {}
    for method, dataset in method_sources(_grid()).items():
        table = outputs.get(dataset, any_val_probs)
        if dataset.endswith("val_predictions"):
            labels = probs_matrix(table, codes).argmax(axis=1)
            table = predictions_table(table["row_id"].to_numpy(), labels, codes)
        tables[method] = table
    encoding, grid = {"codes": codes}, planning.load_parameters()["grid"]
    parts: dict[str, dict] = {}
    with measured(parts, "reporting", case.products):
        predictions = nodes.collect_validation_predictions(products, encoding, **tables)
        results, choice = nodes.score_validation_predictions(predictions, encoding, grid)
        nodes.make_results_table(results, choice)
        figures = [
            nodes.plot_methods(results, choice),
            *nodes.plot_best_method(predictions, results, encoding),
        ]
        for figure in figures:  # rendered as the catalog's MatplotlibDataset does (dpi 120)
            figure.savefig(io.BytesIO(), format="png", dpi=120)
    return parts


def stage_predict(case: Case) -> dict[str, dict]:
    import torch  # noqa: PLC0415

    from rakuten_kedro.datasets.image_cache import ImageCacheDataset  # noqa: PLC0415
    from rakuten_kedro.datasets.new_products import NewProductsDataset  # noqa: PLC0415
    from rakuten_kedro.models.fusion import build_decision_fold_ensemble  # noqa: PLC0415
    from rakuten_kedro.pipelines.fusion.nodes import fuse_member  # noqa: PLC0415
    from rakuten_kedro.pipelines.predict.nodes import (  # noqa: PLC0415
        describe_new_photos,
        mean_text_probs,
        predict_new_products,
    )
    from rakuten_kedro.pipelines.preprocessing.nodes import (  # noqa: PLC0415
        clean_products,
        encode_labels,
    )
    from rakuten_kedro.tables import probs_table  # noqa: PLC0415

    params, grid = planning.load_parameters(), _grid()
    encoding = encode_labels()
    codes = encoding["codes"]
    folds = int(params["fusion"]["cross_validation"]["n_folds"])
    networks = params["fusion"]["networks"]
    torch.manual_seed(0)  # untrained fold networks: inference speed does not depend on weights
    fusion_models = {
        m.name: build_decision_fold_ensemble(
            folds,
            2 * len(codes),
            len(codes),
            networks[m.network]["hidden"],
            networks[m.network]["residual"],
        )
        for m in grid.members
    }
    # The text and image models run on a GPU (see gpu_check.py; TF-IDF: tfidf_predict): their
    # probability tables, as their inference nodes write them, are made before the clock starts.
    new_products = NewProductsDataset(input_dir=str(case.data))
    row_ids = new_products.load()["row_id"].to_numpy(dtype=np.int64)
    labels = np.random.default_rng(1).integers(0, len(codes), len(row_ids))
    rng = np.random.default_rng(2020)
    model_probs = {
        variant: probs_table(row_ids, synthetic_probs(labels, 0.8, rng), codes)
        for variant in sorted({v for m in grid.members for v in (m.text, m.image)})
    }
    cache_folder = case.work / "cache_predict"
    shutil.rmtree(cache_folder, ignore_errors=True)
    cache_options = {**params["preprocessing"]["image_cache"], "sizes": list(DEMO_CACHE_SIZES)}
    predict_options = {**params["predict"], "input_dir": str(case.data)}
    parts: dict[str, dict] = {}
    # The predict pipeline's nodes after the models: read, clean, photos, each member's fold
    # networks, the text-only fallback, the vote and top-k.
    with measured(parts, "predict", case.n_test):
        cleaned = clean_products(new_products.load())
        cache_dataset = ImageCacheDataset(path=str(cache_folder))
        cache_dataset.save(describe_new_photos(cleaned, cache_options))
        member_tables = []
        for member in grid.members:
            probs, votes = fuse_member(
                fusion_models[member.name],
                model_probs[member.text],
                model_probs[member.image],
                encoding,
            )
            member_tables += [votes, probs]
        text_only = mean_text_probs(
            cleaned, encoding, *(model_probs[text.name] for text in grid.used_text())
        )
        predict_new_products(
            cleaned,
            cache_dataset.load(),
            encoding,
            predict_options,
            params["ensemble"],
            "untrained models (benchmark)",
            text_only,
            *member_tables,
        ).to_csv(case.work / "predictions.csv", index=False)
    return parts


STAGES: dict[str, Callable[[Case], dict[str, dict]]] = {
    name: globals()[f"stage_{name}"] for name in STAGE_ORDER
}
#: What each stage reads from ``work/`` (made by the stage named beside it).
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "clean": (("raw_train", "read_validate"), ("raw_test", "read_validate")),
    "split": (("clean_train", "clean"),),
    **{
        stage: (("products", "split"), ("test_products", "clean"))
        for stage in ("image_cache", "tfidf", "fusion_cv", "ensemble", "reporting")
    },
}


def run_worker(stage: str, case: Case) -> None:
    """Entry point of a stage's subprocess: measure, then print the parts as one JSON line."""
    parts = STAGES[stage](case)
    print(_RESULT_MARK + json.dumps(parts), flush=True)


# -- running the stages (parent) --------------------------------------------------------------


def _stage_of_part(part: str) -> str:
    return {"tfidf_fit": "tfidf", "tfidf_predict": "tfidf"}.get(part, part)


def _missing_inputs(stage: str, case: Case) -> list[str]:
    """The stages that must run first because their outputs are not in ``work/``."""
    if stage != "generate" and not (case.data / "demo_manifest.json").is_file():
        return ["generate"]
    return list(
        dict.fromkeys(
            producer
            for table, producer in NEEDS.get(stage, ())
            if not (case.work / f"{table}.parquet").is_file()
        )
    )


def spawn(stage: str, case: Case) -> dict[str, dict]:
    """Run one stage in a fresh process; its measured parts."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        stage,
        "--sizes",
        str(case.n_labelled),
        "--scratch",
        str(case.scratch),
    ]
    environment = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT_MARK)]
    if done.returncode or not lines:
        raise RuntimeError(
            f"stage {stage} at {case.n_labelled} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len(_RESULT_MARK) :])


def run_stage(stage: str, case: Case, results: dict, done: set[tuple[str, int]]) -> None:
    """Run ``stage`` at ``case`` (its missing inputs first) and record its parts in ``results``."""
    for producer in _missing_inputs(stage, case):
        run_stage(producer, case, results, done)
    if (stage, case.n_labelled) in done:
        return
    print(f"  {stage} at {case.products:,} products ...", end=" ", flush=True)
    parts = spawn(stage, case)
    load = round(os.getloadavg()[0], 2)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for part, figures in parts.items():
        entry = {
            **figures,
            "n_labelled": case.n_labelled,
            "load_average": load,
            "measured_at_utc": stamp,
        }
        results["measurements"].setdefault(part, {})[str(case.products)] = entry
    done.add((stage, case.n_labelled))
    print(
        ", ".join(
            f"{p} {f['seconds']:.1f} s / {f['peak_rss_mb']:.0f} MiB" for p, f in parts.items()
        )
    )


def ensure_generated(case: Case, results: dict, done: set[tuple[str, int]]) -> None:
    """Generate the size's data unless a complete generation is already there."""
    manifest = case.data / "demo_manifest.json"
    if manifest.is_file():
        arguments = json.loads(manifest.read_text())["arguments"]
        if (arguments["n_products"], arguments["n_test"]) != (case.n_labelled, case.n_test):
            raise RuntimeError(f"{case.data} holds another size: delete it")
        return
    run_stage("generate", case, results, done)


# -- analysis (pure) --------------------------------------------------------------------------


def growth_exponent(sizes: list[float], values: list[float]) -> float | None:
    """Slope of log(value) against log(size): 1 is linear, 2 quadratic (None: under 2 sizes).

    Args:
        sizes: Data sizes (positive).
        values: The measured seconds or MiB at those sizes (non-positive ones are skipped).

    Returns:
        The least-squares slope, rounded to 2 decimals.
    """
    pairs = [(s, v) for s, v in zip(sizes, values, strict=True) if s > 0 and v > 0]
    if len({s for s, _ in pairs}) < 2:
        return None
    x, y = np.log([s for s, _ in pairs]), np.log([v for _, v in pairs])
    return round(float(np.polyfit(x, y, 1)[0]), 2)


def summarise(measurements: dict[str, dict[str, dict]]) -> list[dict]:
    """Per part: figures at the largest size, time and memory exponents, and flags.

    The time exponent is fitted on CPU time (the wall-time exponent is kept beside it): the
    load of a shared machine changes between sizes and bends wall-time curves. Memory growth
    is the part's peak minus the RSS it started with (its inputs and imports excluded); its
    exponent is over the sizes where that growth exceeds a few MiB.
    """
    summary = []
    for part, by_size in measurements.items():
        if part.startswith("sample_"):
            continue
        sizes = sorted(by_size, key=int)
        largest = by_size[sizes[-1]]
        seconds = [by_size[s]["seconds"] for s in sizes]
        cpu = [by_size[s].get("cpu_seconds", by_size[s]["seconds"]) for s in sizes]
        growth = [by_size[s]["peak_rss_mb"] - (by_size[s]["rss_at_start_mb"] or 0) for s in sizes]
        time_exponent = growth_exponent([int(s) for s in sizes], cpu)
        memory_exponent = growth_exponent(
            [int(s) for s, g in zip(sizes, growth, strict=True) if g > 8],
            [g for g in growth if g > 8],
        )
        flags = []
        if time_exponent is not None and time_exponent > SUPERLINEAR:
            flags.append(f"time grows faster than linearly (exponent {time_exponent:.2f})")
        if part in STREAMING and growth[-1] > FLAT_MEMORY_MIB and (memory_exponent or 0) > 0.5:
            flags.append("memory grows with the data in a streaming stage")
        summary.append(
            {
                "part": part,
                "label": LABELS.get(part, part),
                "products": int(sizes[-1]),
                "seconds": largest["seconds"],
                "cpu_seconds": cpu[-1],
                "peak_rss_mb": largest["peak_rss_mb"],
                "memory_growth_mb": round(growth[-1], 1),
                "time_exponent": time_exponent,
                "wall_time_exponent": growth_exponent([int(s) for s in sizes], seconds),
                "memory_exponent": memory_exponent,
                "sizes": [int(s) for s in sizes],
                "flags": flags,
            }
        )
    return sorted(
        summary, key=lambda row: list(LABELS).index(row["part"]) if row["part"] in LABELS else 99
    )


def extrapolate_cache(measurements: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """The image cache at the configured sizes, per data size, as measurements of its own.

    The demo-size build of all the photos is scaled by the ratio measured on the same sample of
    photos built at both sets of sizes (wall and CPU time each by its own ratio); memory is the
    sample's at the configured sizes (the build streams: it does not grow with the data).
    """
    cache, demo, full = (
        measurements.get(k, {}) for k in ("image_cache", "sample_demo_sizes", "sample_full_sizes")
    )
    pixels = _pixel_ratio()
    extrapolated = {}
    for size in sorted(set(cache) & set(demo) & set(full), key=int):
        ratios = {key: full[size][key] / demo[size][key] for key in ("seconds", "cpu_seconds")}
        extrapolated[size] = {
            "seconds": round(cache[size]["seconds"] * ratios["seconds"], 1),
            "cpu_seconds": round(cache[size]["cpu_seconds"] * ratios["cpu_seconds"], 1),
            "peak_rss_mb": full[size]["peak_rss_mb"],
            "rss_at_start_mb": full[size]["rss_at_start_mb"],
            "measured_ratio": round(ratios["seconds"], 2),
            "pixel_count_bound_seconds": round(cache[size]["seconds"] * pixels, 1),
        }
    return extrapolated


def _pixel_ratio() -> float:
    """Pixels written per photo at the configured sizes over the demo sizes (224/448: 49)."""
    full_sizes = planning.load_parameters()["preprocessing"]["image_cache"]["sizes"]
    return sum(s * s for s in full_sizes) / sum(s * s for s in DEMO_CACHE_SIZES)


def _hours_or_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s" if seconds >= 10 else f"{seconds:.2f} s"


def markdown_table(summary: list[dict]) -> str:
    """The README table: each stage at its largest size, its growth exponent and flags."""
    lines = [
        "| stage | data size (products) | wall time | CPU time | peak RSS | memory the stage "
        "adds | growth exponent (CPU time) | |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in summary:
        exponent = "–" if row["time_exponent"] is None else f"{row['time_exponent']:.2f}"
        flag = "⚠ " + "; ".join(row["flags"]) if row["flags"] else ""
        lines.append(
            f"| {row['label']} | {row['products']:,} | {_hours_or_seconds(row['seconds'])} | "
            f"{_hours_or_seconds(row['cpu_seconds'])} | {row['peak_rss_mb']:,.0f} MiB | "
            f"{row['memory_growth_mb']:,.0f} MiB | {exponent} | {flag} |"
        )
    return "\n".join(lines)


def plot(summary: list[dict], measurements: dict, path: Path) -> None:
    """Log-log CPU time and memory added against products, one line per stage."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5.4))
    colours = plt.get_cmap("tab20").colors
    for index, row in enumerate(summary):
        by_size = measurements[row["part"]]
        x = sorted(int(s) for s in by_size)
        entries = [by_size[str(n)] for n in x]
        style = {
            "linestyle": "--" if row["part"] == "image_cache_224_448" else "-",
            "marker": "os^D"[index % 4],
            "markersize": 4,
            "color": colours[(2 * index) % 20 + (index >= 10)],
        }
        exponent = "" if row["time_exponent"] is None else f" ({row['time_exponent']:.2f})"
        left.plot(x, [e["cpu_seconds"] for e in entries], label=row["label"] + exponent, **style)
        added = [max(e["peak_rss_mb"] - (e["rss_at_start_mb"] or 0), 1.0) for e in entries]
        right.plot(x, added, **style)
    axes = ((left, "CPU seconds (user + system, all threads)"),
            (right, "MiB the stage adds (peak RSS - RSS before it)"))  # fmt: skip
    for axis, ylabel in axes:
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("products (labelled + test)")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    left.set_title("CPU time (growth exponent in brackets)")
    right.set_title("memory (each process also holds ~0.7 GB of Python, torch, kedro)")
    figure.legend(loc="lower center", ncol=3, fontsize=7.5, frameon=False)
    figure.tight_layout(rect=(0, 0.17, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def report(results: dict, readme: Path | None) -> None:
    """Summary, plot and README table, from every measurement in ``results``."""
    measurements = dict(results["measurements"])
    extrapolated = extrapolate_cache(measurements)
    if extrapolated:
        measurements["image_cache_224_448"] = extrapolated
    summary = summarise(measurements)
    results.update(
        summary=summary,
        image_cache_extrapolation={"by_size": extrapolated, "pixel_count_ratio": _pixel_ratio()},
    )
    pipeline_rows = [row for row in summary if row["part"] != "generate"]
    table = markdown_table(pipeline_rows)
    print(table)
    plot(pipeline_rows, measurements, PLOT_PATH)
    if readme is not None:
        common.replace_readme_block(readme, "cost_curve", table)


def _load_results() -> dict:
    if RESULT_PATH.is_file():
        return json.loads(RESULT_PATH.read_text(encoding="utf-8"))
    return {"benchmark": "cost_curve", "measurements": {}}


def _write_results(results: dict) -> None:
    results.update(
        updated_at_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        machine=common.machine_info(),
        torch_threads_env=os.environ.get("RAKUTEN_BENCH_THREADS"),
        superlinear_threshold=SUPERLINEAR,
        demo_cache_sizes=list(DEMO_CACHE_SIZES),
    )
    RESULT_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=list(DEFAULT_SIZES),
        help="labelled products per size (test products in the real share)",
    )
    parser.add_argument(
        "--stages",
        nargs="+",
        choices=STAGE_ORDER[1:],
        default=list(STAGE_ORDER[1:]),
        help="stages to measure (default all)",
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        default=common.SCRATCH,
        help="where the generated data goes (never inside the repository)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="measure nothing: redraw the plot and README table from the JSON",
    )
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument("--worker", choices=STAGE_ORDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, Case(args.sizes[0], args.scratch))
        return {}
    if common.PROJECT in args.scratch.resolve().parents:
        parser.error("--scratch must be outside the repository (generated data is never committed)")
    results = _load_results()
    if not args.report:
        for n_labelled in sorted(args.sizes):
            case = Case(n_labelled, args.scratch)
            print(f"== {case.n_labelled:,} labelled + {case.n_test:,} test products ({case.root})")
            done: set[tuple[str, int]] = set()
            ensure_generated(case, results, done)
            for stage in (s for s in STAGE_ORDER if s in args.stages):
                run_stage(stage, case, results, done)
                _write_results(results)  # an interruption keeps what was measured
    report(results, None if args.no_readme else README)
    _write_results(results)
    print(f"wrote {RESULT_PATH} and {PLOT_PATH}")
    return results


if __name__ == "__main__":
    main()
