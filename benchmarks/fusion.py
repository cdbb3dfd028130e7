"""Fusion: time of the decision-level fusion's K-fold cross-validation (and its baselines).

Inputs are synthetic text and image class probabilities (27 + 27 columns) of ``--rows``
validation rows (the demo's validation split has ~300), peaked on the true label with some
mistakes, as the fusion pipeline would stack them. Times ``cross_validate_decision_fusion``
with the ``conf/base`` settings (8 folds, 40 epochs, batch 64, residual 2-layer net, epochs
chosen on an inner fold), the 1-layer net, and the logistic-regression stacking baseline on the
same folds.

    python benchmarks/fusion.py [--rows 300] [--epochs 40]
"""

from __future__ import annotations

import argparse
import time

import common
import numpy as np

from rakuten_kedro.fusion.decision import cross_validate_decision_fusion
from rakuten_kedro.fusion.stacking import cross_validate_stacking
from rakuten_kedro.training.folds import assign_folds


def synthetic_probs(labels, accuracy: float, rng):
    """Probabilities whose argmax is the label with probability ``accuracy``."""

    n, classes = len(labels), 27
    target = np.where(rng.random(n) < accuracy, labels, rng.integers(0, classes, n))
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), target] += 4
    probs = np.exp(logits)
    return (probs / probs.sum(1, keepdims=True)).astype(np.float32)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="validation rows")
    parser.add_argument("--epochs", type=int, default=40, help="conf/base: 40")
    parser.add_argument("--folds", type=int, default=8, help="conf/base: 8")
    args = parser.parse_args(argv)
    common.start("fusion")

    rng = np.random.default_rng(2020)
    labels = rng.integers(0, 27, args.rows)
    test_labels = rng.integers(0, 27, args.rows)
    inputs = np.hstack([synthetic_probs(labels, 0.8, rng), synthetic_probs(labels, 0.6, rng)])
    test = np.hstack(
        [synthetic_probs(test_labels, 0.8, rng), synthetic_probs(test_labels, 0.6, rng)]
    )
    fusion = common.params("fusion", training={"epochs": args.epochs})
    cross_validation = fusion["cross_validation"]
    folds = assign_folds(labels, args.folds, cross_validation["seed"])
    rows = []
    for name, network in (("2-layer (hidden 6)", "two_layer"), ("1-layer", "one_layer")):
        t0 = time.perf_counter()
        cross_validate_decision_fusion(
            inputs, labels, folds, num_classes=27, network=fusion["networks"][network],
            training=fusion["training"], epoch_selection=cross_validation["epoch_selection"],
            test_inputs=test,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        rows.append(
            common.row(
                f"decision fusion CV, {name}", seconds, "s",
                note=f"{args.folds} folds x {args.epochs} epochs, {args.rows} rows; "
                f"{seconds / args.folds:.2f} s/fold",
            )
        )  # fmt: skip
    t0 = time.perf_counter()
    cross_validate_stacking(
        inputs, labels, folds, num_classes=27, settings=fusion["stacking"],
        epoch_selection=cross_validation["epoch_selection"], seed=cross_validation["seed"],
        test_inputs=test,
    )  # fmt: skip
    rows.append(common.row("stacking (logistic regression) CV", time.perf_counter() - t0, "s"))
    return common.finish(rows, params=vars(args))


if __name__ == "__main__":
    main()
