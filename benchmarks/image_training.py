"""Image model training throughput at each demo resolution: 32 px plain (stage 1), 64 px plain
and 64 px DCL (stage 2), ResNet18 from scratch, through ``fit_image_classifier`` and the
project's training loop. Also the prediction rate at 64 px.

Images/s is the loop's own per-epoch ``samples_per_s`` (training only, no validation), best
epoch of ``--epochs``. DCL trains on each original and its destructed copy, so one DCL "image"
costs two forward/backward passes.

    python benchmarks/image_training.py [--n 600] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import common
import numpy as np

from rakuten_kedro.models.image import build_image_classifier
from rakuten_kedro.vision.train import fit_image_classifier, predict_image_classifier

AUGMENT = {"crop_fraction": 0.875, "rotation_degrees": 15, "hflip": True}
RUN = {"cpu": True, "progress": False, "seed": 2020, "mixed_precision": "no"}
DCL = {
    "enabled": True,
    "grid": 7,
    "window": 2,
    "head_lr_multiplier": 10,
    "loss_weights": {"classification": 1.0, "adversarial": 1.0, "alignment": 1.0},
}


def stage(size: int, epochs: int, batch_size: int) -> dict:
    return {
        "cache_size": size,
        "input_size": size,
        "epochs": epochs,
        "batch_size": batch_size,
        "eval_batch_size": 256,
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "lr_step_epochs": 4,
        "lr_gamma": 0.1,
        "patience": None,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="labelled products")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per configuration")
    args = parser.parse_args(argv)
    common.start("image_training")

    products = common.demo_products(common.demo_dir(args.n))
    cache = common.image_cache(products)
    train = np.flatnonzero(products["split"].to_numpy() == "train")
    labels = products["label"].to_numpy()[train]
    rows = []
    configs = [("stage 1, 32 px, plain", 32, 64, None), ("stage 2, 64 px, plain", 64, 32, None),
               ("stage 2, 64 px, DCL", 64, 32, DCL)]  # fmt: skip
    for name, size, batch_size, dcl in configs:
        model = build_image_classifier(depth=18, num_classes=27, dcl_grid=7 if dcl else None)
        t0 = time.perf_counter()
        result = fit_image_classifier(
            model, cache.images(size), train, labels, val_positions=None, val_labels=None,
            stage=stage(size, args.epochs, batch_size), augment=AUGMENT, dcl=dcl, run=RUN,
            name=name,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        rate = max(epoch["samples_per_s"] for epoch in result.history)
        rows.append(
            common.row(
                f"train ResNet18 {name}", rate, "images/s",
                note=f"batch {batch_size}, {len(train)} images, {args.epochs} epochs in "
                f"{seconds:.1f} s",
            )
        )  # fmt: skip
    model = result.model
    t0 = time.perf_counter()
    predict_image_classifier(
        model, cache.images(64), np.arange(len(products)), input_size=64, augment=AUGMENT,
        batch_size=256, run=RUN,
    )  # fmt: skip
    rows.append(
        common.row(
            "predict ResNet18 64 px", len(products) / (time.perf_counter() - t0), "images/s",
            note="batch 256, centre crop",
        )
    )  # fmt: skip
    return common.finish(rows, params={**vars(args), "train_images": len(train)})


if __name__ == "__main__":
    main()
