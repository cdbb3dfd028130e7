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

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.models.image import ResNetClassifier, build_image_classifier
from rakuten_kedro.vision.train import fit_image_classifier, predict_image_classifier

#: How every benchmark runs a ResNet: on the CPU, full precision, no progress bars.
RUN = {"cpu": True, "progress": False, "mixed_precision": "no"}


def resnet18() -> ResNetClassifier:
    """The demo's image model (``image_dcl_clean.model`` of conf/base), untrained."""
    model = common.params("image_dcl_clean.model", depth=18, weights=None, weights_path=None)
    return build_image_classifier(model, len(PRDTYPECODES))


def image_settings(
    size: int, *, epochs: int, batch_size: int, eval_batch_size: int = 256
) -> dict[str, dict]:
    """``stage``, ``augment`` and ``run`` of ``image_dcl_clean`` (conf/base) at one input size.

    Every stage is conf/base's stage 1 at the given size and batch, so the configurations
    differ only in what is measured.
    """
    stage = {"cache_size": size, "input_size": size, "epochs": epochs, "batch_size": batch_size,
             "eval_batch_size": eval_batch_size}  # fmt: skip
    return {
        "stage": common.params("image_dcl_clean.stage1", **stage),
        "augment": common.params("image_dcl_clean.augment"),
        "run": common.params("image_dcl_clean.run", **RUN),
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
    dcl_settings = common.params("image_dcl_clean.stage2.dcl")
    configs = [("stage 1, 32 px, plain", 32, 64, None), ("stage 2, 64 px, plain", 64, 32, None),
               ("stage 2, 64 px, DCL", 64, 32, dcl_settings)]  # fmt: skip
    for name, size, batch_size, dcl in configs:
        model = resnet18()
        if dcl:
            model.add_dcl_heads(dcl["grid"])
        t0 = time.perf_counter()
        result = fit_image_classifier(
            model, cache.images(size), train, labels, val_positions=None, val_labels=None,
            dcl=dcl, name=name, **image_settings(size, epochs=args.epochs, batch_size=batch_size),
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
        model, cache.images(64), np.arange(len(products)),
        **image_settings(64, epochs=args.epochs, batch_size=32),
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
