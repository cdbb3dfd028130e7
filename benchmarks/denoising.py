"""Denoising: time per cross-validation fold of the out-of-fold image model.

``rakuten_kedro.vision.denoise.out_of_fold_probs`` (the one ``cross_validate`` loop) trains one
ResNet18 per fold at 32 px on the other folds (validation on the val split each epoch), predicts
its held-out fold, and the script times the whole K folds, then cleanlab's ranking on the
out-of-fold probabilities.

    python benchmarks/denoising.py [--n 600] [--folds 4] [--epochs 1]
"""

from __future__ import annotations

import argparse
import time

import common
import numpy as np
from image_training import RUN

from rakuten_kedro.vision.denoise import denoising_folds, out_of_fold_probs, rank_label_issues


def main(argv: list[str] | None = None) -> dict:
    base = common.params("denoising")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="labelled products")
    parser.add_argument("--folds", type=int, default=4, help=f"conf/base: {base['folds']}")
    epochs = base["train"]["epochs"]
    parser.add_argument("--epochs", type=int, default=1, help=f"per fold (conf/base: {epochs})")
    args = parser.parse_args(argv)
    common.start("denoising")

    products = common.demo_products(common.demo_dir(args.n))
    cache = common.image_cache(products)
    split = products["split"].to_numpy()
    labels = products["label"].to_numpy()
    train, val = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    settings = common.params("denoising", folds=args.folds, train={"epochs": args.epochs}, run=RUN)
    folds = denoising_folds(labels[train], settings)
    t0 = time.perf_counter()
    probs = out_of_fold_probs(
        cache.images(32), train, labels[train], folds, val_positions=val,
        val_labels=labels[val], num_classes=27, params=settings,
    )  # fmt: skip
    cv_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    rank_label_issues(labels[train], probs, filter_by=settings["filter_by"],
                      ranked_by=settings["ranked_by"])  # fmt: skip
    rank_seconds = time.perf_counter() - t0
    rows = [
        common.row(
            "denoising CV: seconds per fold", cv_seconds / args.folds, "s/fold",
            note=f"ResNet18 32 px, {len(train)} train rows, {args.epochs} epoch(s)/fold, "
            f"{args.folds} folds in {cv_seconds:.1f} s",
        ),
        common.row(
            "denoising CV: training images/s",
            len(train) * (args.folds - 1) / args.folds * args.epochs * args.folds / cv_seconds,
            "images/s", note="incl. per-epoch validation and out-of-fold prediction",
        ),
        common.row("cleanlab ranking", rank_seconds, "s", note=f"{len(train)} rows x 27 classes"),
    ]  # fmt: skip
    return common.finish(rows, params={**vars(args), "train_rows": len(train)})


if __name__ == "__main__":
    main()
