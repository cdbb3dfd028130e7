"""Where the label noise costs the default run, and whether the denoising we have wins it back.

Reads the accuracy benchmark's store (``accuracy.py``: run ``--stage whole --configs
default_all_rows,paper`` first; the paper run's image out-of-fold probabilities are reused) and,
on each setting and seed, retrains one decision-fusion member of the default run without
denoising (``default_all_rows``), TF-IDF text × its plain image model on every row, through the
1-layer residual fusion network on the validation split (its plain decisions: no
``fusion.decisions.prior_correction``, as measured before the default had one), changing one
thing at a time:

* the TF-IDF's training labels: the given (flipped) ones, the generator's true ones, or the
  given ones treated with the flags of fused (TF-IDF × image) out-of-fold probabilities, as
  ``denoising.probabilities: image_and_text`` ranks them: flagged rows dropped, every row
  weighted by the out-of-fold probability of its given label, or a flagged row relabelled
  to its out-of-fold argmax when that probability is above 0.8;
* the fusion's validation labels: the given ones or the true ones.

Each variant's test macro-F1, alone and fused, with its paired difference to the given labels
([bootstrap 95 % interval] over the test rows, of the seed mean), goes to
``benchmarks/results/label_noise.json`` and ``label_noise.md``::

    RAKUTEN_ACCURACY_SCRATCH=… python benchmarks/label_noise.py [--settings …] [--seeds 3]
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import numpy as np
import pandas as pd
import torch
from accuracy import (
    RESULTS_DIR,
    SETTING_BY_NAME,
    Rows,
    Setting,
    data_folder,
    ensure_project,
    load_methods,
    load_rows,
    training_seed,
    write_json,
)
from accuracy_methods import TFIDF, flags_and_drops, paper_image_oof, tfidf_oof
from accuracy_report import _interval, _paired, bootstrap_f1, macro_f1, resampling_weights
from common import params
from fusion_refit import fit_member, fusion_folds

from rakuten_kedro.config import Fusion, TfidfModel
from rakuten_kedro.demo.generator import LABEL_NOISE_FILE
from rakuten_kedro.text.tfidf import (
    build_tfidf_classifier,
    product_documents,
    tfidf_probabilities,
)
from rakuten_kedro.vision.denoise import fuse_probabilities

torch.set_num_threads(1)
FUSION = params("fusion")  # the default run's (conf/base)
RELABEL_CONFIDENCE = 0.8
#: What each variant changes (see the module docstring); "given" is the default run's training.
VARIANTS = (
    "given", "true text labels", "flagged rows dropped", "rows weighted by label probability",
    "confident flags relabelled", "true validation labels (fusion)",
)  # fmt: skip


def true_labels(setting: Setting, rows: Rows) -> pd.Series:
    """The generator's true label index of every labelled row, by ``row_id`` (its record of
    the flips)."""
    flips = pd.read_csv(data_folder(setting) / LABEL_NOISE_FILE).set_index("row_id")
    label_of_code = {int(code): i for i, code in enumerate(rows.codes)}
    return flips["true_prdtypecode"].map(lambda code: label_of_code[int(code)])


def text_training(rows: Rows, train: pd.DataFrame, oof: np.ndarray, true: np.ndarray):
    """Variant -> (TF-IDF training labels, sample weights or None)."""
    given = rows.train_given
    flagged, _ = flags_and_drops(train, given, oof, rows.codes, 1.0)
    weights = oof[np.arange(len(given)), given]
    relabelled = given.copy()
    swap = (oof.argmax(1) != given) & (oof.max(1) > RELABEL_CONFIDENCE)
    relabelled[swap] = oof.argmax(1)[swap]
    return {
        "given": (given, None),
        "true text labels": (true, None),
        "flagged rows dropped": (given, (~flagged).astype(float)),
        "rows weighted by label probability": (given, weights),
        "confident flags relabelled": (relabelled, None),
    }


def run_seed(setting: Setting, seed_index: int) -> dict[str, dict[str, np.ndarray]]:
    """Variant -> the test predictions of its TF-IDF alone and of its fused member."""
    rows = load_rows(setting)
    project = ensure_project(setting)
    products = pd.read_parquet(project / "data/03_primary/products.parquet").set_index("row_id")
    test = pd.read_parquet(project / "data/03_primary/test_products.parquet").set_index("row_id")
    train = products.loc[rows.train_row_ids].reset_index()
    stored = load_methods(setting, seed_index)["default_all_rows.image_plain_noisy"]
    seed = training_seed(seed_index)
    # The probabilities `denoising.probabilities: image_and_text` ranks.
    oof = fuse_probabilities(
        tfidf_oof(rows, train, seed), paper_image_oof(setting, seed_index, rows)
    )
    true = true_labels(setting, rows)
    true_val = true.loc[rows.val_row_ids].to_numpy()
    training = text_training(rows, train, oof, true.loc[rows.train_row_ids].to_numpy())

    def tfidf(labels: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        model = build_tfidf_classifier(TfidfModel(**{**TFIDF, "seed": seed}))
        fit = {} if weights is None else {"classifier__sample_weight": weights}
        model.fit(product_documents(train), labels, **fit)
        return (
            tfidf_probabilities(model, products.loc[rows.val_row_ids], len(rows.codes)),
            tfidf_probabilities(model, test.loc[rows.test_row_ids], len(rows.codes)),
        )

    fits = {variant: tfidf(*labels_and_weights) for variant, labels_and_weights in training.items()}
    fits["true validation labels (fusion)"] = fits["given"]  # the same TF-IDF, other fusion labels
    out = {}
    for variant in VARIANTS:
        val_probs, test_probs = fits[variant]
        val_labels = true_val if variant == "true validation labels (fusion)" else rows.val_labels
        fused = fuse(val_probs, test_probs, stored, val_labels, seed)
        out[variant] = {"alone": test_probs.argmax(1), "fused": fused.argmax(1)}
        logging.info("%s seed%d %s done", setting.name, seed_index, variant)
    return out


def fuse(val_probs, test_probs, image: dict[str, np.ndarray], val_labels, seed) -> np.ndarray:
    """The default run's 1-layer member on these text probabilities: its fold networks' mean."""
    fusion = Fusion.parse(FUSION)
    result = fit_member(
        {"val_probs": val_probs, "test_probs": test_probs}, image, val_labels,
        fusion_folds(val_labels, fusion, seed), fusion=fusion, network="one_layer", seed=seed,
        name="label_noise",
    )  # fmt: skip
    return result.test_probs.mean(axis=0)


def score(setting: Setting, seeds: list[int]) -> dict[str, Any]:
    rows = load_rows(setting)
    labels = rows.test_labels
    weights = resampling_weights(len(labels), np.random.default_rng(0))
    runs = [run_seed(setting, seed) for seed in seeds]

    def scored(variant: str, kind: str) -> list[tuple[float, np.ndarray]]:
        predictions = [run[variant][kind] for run in runs]
        return [(macro_f1(labels, p), bootstrap_f1(labels, p, weights)) for p in predictions]

    out: dict[str, Any] = {"seeds": seeds, "variants": {}}
    for variant in VARIANTS:
        entry = {}
        for kind in ("alone", "fused"):
            values = scored(variant, kind)
            entry[kind] = {
                "mean": round(float(np.mean([f for f, _ in values])), 4),
                "ci95": _interval(np.mean([b for _, b in values], axis=0)),
                "vs_given": _paired(values, scored("given", kind)),
            }
        out["variants"][variant] = entry
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Label noise: what it costs a TF-IDF member of the default run; what flags win",
             "", "Test macro-F1 (%), mean over seeds; difference to the given labels [bootstrap "
             "95 % interval]. Written by `python benchmarks/label_noise.py`.", "",
             "| setting | TF-IDF trained on | alone | vs given | fused (1-layer member) | "
             "vs given |", "|---|---|---:|---|---:|---|"]  # fmt: skip
    for name, setting in result["settings"].items():
        for variant, entry in setting["variants"].items():
            cells = []
            for kind in ("alone", "fused"):
                difference = entry[kind]["vs_given"]
                low, high = difference["ci95"]
                cells += [
                    f"{100 * entry[kind]['mean']:.1f}",
                    "" if variant == "given" else (
                        f"{100 * difference['mean']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
                    ),
                ]  # fmt: skip
            seeds = len(setting["seeds"])
            lines.append(f"| {name} ({seeds} seeds) | {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="noisy_imbalanced,photo_hard")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    logging.getLogger("rakuten_kedro").setLevel(logging.WARNING)
    result = {
        "settings": {
            name: score(SETTING_BY_NAME[name], list(range(args.seeds)))
            for name in args.settings.split(",")
        }
    }
    write_json(RESULTS_DIR / "label_noise.json", result)
    (RESULTS_DIR / "label_noise.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
