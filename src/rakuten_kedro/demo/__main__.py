"""Command line: ``python -m rakuten_kedro.demo --out data/01_raw/demo --n-products 3000``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import fields

from rakuten_kedro.config import DEFAULT_SEED
from rakuten_kedro.demo.generator import Difficulty, generate_demo_dataset


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, generate the demo data set and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m rakuten_kedro.demo",
        description="Write the synthetic demo data set in the challengedata layout.",
    )
    parser.add_argument("--out", required=True, help="folder to create (missing or empty)")
    parser.add_argument("--n-products", type=int, default=3000, help="labelled products")
    parser.add_argument("--n-test", type=int, default=300, help="unlabelled test products")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seed of every random choice"
    )
    parser.add_argument("--label-noise", type=float, default=0.08, help="share of flipped labels")
    parser.add_argument("--image-size", type=int, default=500, help="photo side in pixels")
    parser.add_argument(
        "--uninformative-photo-rate", type=float, default=0.03, help="share of blank photos"
    )
    parser.add_argument("--min-per-class", type=int, default=40, help="floor per code (train)")
    for knob in fields(Difficulty):  # one flag per difficulty knob, e.g. --hue-jitter 20
        parser.add_argument(
            "--" + knob.name.replace("_", "-"), type=float, default=knob.default,
            help=f"difficulty: {knob.name} (see Difficulty)",
        )  # fmt: skip
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        summary = generate_demo_dataset(
            args.out,
            n_products=args.n_products,
            n_test=args.n_test,
            seed=args.seed,
            label_noise=args.label_noise,
            image_size=args.image_size,
            uninformative_photo_rate=args.uninformative_photo_rate,
            min_per_class=args.min_per_class,
            difficulty=Difficulty(
                **{knob.name: getattr(args, knob.name) for knob in fields(Difficulty)}
            ),
        )
    except (FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {summary.n_train} training + {summary.n_test} test products to "
        f"{summary.out_dir} in {time.perf_counter() - start:.1f} s "
        f"({summary.n_flipped} flipped labels, {summary.n_empty_descriptions} empty "
        f"descriptions, {summary.n_uninformative_photos} uninformative photos)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
