"""Batched inference vs one product at a time, for the text and the image model.

Both sides go through the project's own predict functions (``predict_texts``,
``predict_image_classifier``); "per product" is the same call with ``batch_size=1``, what a
naive service classifying products one by one would do. The models are untrained (speed does
not depend on the weights) and have the demo's sizes.

    python benchmarks/inference_batching.py [--n 600] [--rows 100]
"""

from __future__ import annotations

import argparse

import common
import numpy as np
from image_training import image_settings, resnet18
from text_model import build, inference_settings

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.text.transformer import predict_texts
from rakuten_kedro.vision.train import predict_image_classifier


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="labelled products")
    parser.add_argument("--rows", type=int, default=100, help="products predicted per run")
    args = parser.parse_args(argv)
    common.start("inference_batching")

    products = common.demo_products(common.demo_dir(args.n))
    subset = products.iloc[: args.rows]
    model, _ = build(products, list(PRDTYPECODES), 64, 64, 2)
    model.eval()

    def text(batch_size: int):
        return lambda: predict_texts(model, subset, inference_settings(batch_size))

    text_batched, text_single = common.compare(text(128), text(1), repeat=2)

    cache = common.image_cache(products)
    images = cache.images(64)
    positions = np.arange(args.rows)
    resnet = resnet18().eval()

    def image(batch_size: int):
        settings = image_settings(64, epochs=1, batch_size=32, eval_batch_size=batch_size)
        return lambda: predict_image_classifier(resnet, images, positions, **settings)

    image_batched, image_single = common.compare(image(256), image(1), repeat=2)
    rows = [
        common.row(
            "text predict: batch 128 vs one product per call",
            args.rows / text_batched,
            "products/s",
            naive=args.rows / text_single,
            note="predict_texts, demo transformer (hidden 64, 2 layers, max_length 64)",
        ),
        common.row(
            "image predict 64 px: batch 256 vs one product per call",
            args.rows / image_batched,
            "products/s",
            naive=args.rows / image_single,
            note="predict_image_classifier, ResNet18 from the image cache",
        ),
    ]
    return common.finish(rows, params=vars(args))


if __name__ == "__main__":
    main()
