"""Generate the demo data set in the ``challengedata`` layout (docs/method.md §2).

Layout written into ``out_dir``::

    X_train_update.csv      unnamed id, designation, description, productid, imageid
    Y_train_CVw08PX.csv     unnamed id, prdtypecode (the *given*, partly flipped, codes)
    X_test_update.csv       ids continue after the training ids
    images/image_train/image_{imageid}_product_{productid}.jpg
    images/image_test/...
    demo_label_noise.csv    row_id, productid, imageid, true_prdtypecode, given_prdtypecode,
                            flipped (which training labels were flipped)
    demo_test_labels.csv    row_id, prdtypecode (true codes of the test products)
    demo_manifest.json      the generator's arguments and counts

The folder is built beside ``out_dir`` and renamed into place at the end, so an interrupted
generation never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rakuten_kedro.codes import GROUP_OF_CODE, PRDTYPECODE_COUNTS, PRDTYPECODES, TOP_LEVEL_GROUPS
from rakuten_kedro.config import DEFAULT_SEED
from rakuten_kedro.demo.images import (
    CLASS_HUE_SHIFT,
    HUE_JITTER,
    PROTOTYPE_OF_CODE,
    VISUAL_PROTOTYPES,
    draw_product_photo,
    draw_uninformative_photo,
    hue_shift_of_code,
)
from rakuten_kedro.demo.text import PAIRED_TITLE_RATE, SHARED_WORD_RATE, ProductTextWriter

X_TRAIN_FILE = "X_train_update.csv"
Y_TRAIN_FILE = "Y_train_CVw08PX.csv"
X_TEST_FILE = "X_test_update.csv"
TRAIN_IMAGE_DIR = "images/image_train"
TEST_IMAGE_DIR = "images/image_test"
LABEL_NOISE_FILE = "demo_label_noise.csv"
TEST_LABELS_FILE = "demo_test_labels.csv"
MANIFEST_FILE = "demo_manifest.json"

JPEG_QUALITY = 90

#: Ranges of the random product and image ids (the real ones look like this too).
PRODUCTID_RANGE = (100_000_000, 4_300_000_000)
IMAGEID_RANGE = (900_000_000, 1_400_000_000)

#: Exponent on the published class counts: 1 keeps their proportions, 0 makes every code
#: equally common, above 1 exaggerates the imbalance (the floor ``min_per_class`` still holds).
CLASS_WEIGHT_POWER = 1.0


@dataclass(frozen=True)
class Difficulty:
    """How hard the generated data is beyond label noise and blank photos: the knobs the
    accuracy benchmark varies so that no method is tuned to one data set. The defaults give
    the demo data set.

    Attributes:
        shared_word_rate: Probability that a word of a text-clustered code comes from the
            cluster's shared pool (text-only confusions; ``text.SHARED_WORD_RATE``).
        paired_title_rate: Probability that a clustered code's title ends with a sibling's
            product, separable only by word order (``text.PAIRED_TITLE_RATE``).
        class_hue_shift: Hue difference (degrees) between the codes sharing a visual
            prototype, their only photo cue (photo-only confusions; ``images.CLASS_HUE_SHIFT``).
        hue_jitter: Standard deviation (degrees) of each photo's hue jitter, which hides that
            cue (``images.HUE_JITTER``).
        class_weight_power: Class imbalance (:data:`CLASS_WEIGHT_POWER`).
    """

    shared_word_rate: float = SHARED_WORD_RATE
    paired_title_rate: float = PAIRED_TITLE_RATE
    class_hue_shift: float = CLASS_HUE_SHIFT
    hue_jitter: float = HUE_JITTER
    class_weight_power: float = CLASS_WEIGHT_POWER

    def __post_init__(self) -> None:
        for name in ("shared_word_rate", "paired_title_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("hue_jitter", "class_weight_power"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo_dataset` wrote.

    Attributes:
        out_dir: The folder holding the data set.
        n_train: Number of labelled (training) products.
        n_test: Number of test products.
        n_flipped: Training labels re-assigned to another code of the same top-level group.
        n_empty_descriptions: Products (train and test) with an empty description.
        n_uninformative_photos: Products (train and test) with a blank or placeholder photo.
        train_class_counts: True code -> number of training products.
        test_class_counts: Code -> number of test products.
    """

    out_dir: Path
    n_train: int
    n_test: int
    n_flipped: int
    n_empty_descriptions: int
    n_uninformative_photos: int
    train_class_counts: dict[int, int] = field(default_factory=dict)
    test_class_counts: dict[int, int] = field(default_factory=dict)


def class_counts(
    n_products: int, min_per_class: int, weight_power: float = CLASS_WEIGHT_POWER
) -> dict[int, int]:
    """Split ``n_products`` over the codes in the published proportions, at least a floor each.

    Args:
        n_products: Total number of products.
        min_per_class: Smallest number of products of any code.
        weight_power: Exponent on the published counts (:data:`CLASS_WEIGHT_POWER`).

    Returns:
        Code -> count, summing to ``n_products``.

    Raises:
        ValueError: If the floor cannot be met.
    """
    n_codes = len(PRDTYPECODES)
    if n_products < n_codes * min_per_class:
        raise ValueError(
            f"n_products={n_products} cannot give each of the {n_codes} codes "
            f"min_per_class={min_per_class} products (needs at least {n_codes * min_per_class})"
        )
    weights = np.array([PRDTYPECODE_COUNTS[c] for c in PRDTYPECODES], dtype=float) ** weight_power
    counts = np.full(n_codes, min_per_class)
    # Largest-remainder apportionment of what is left above the floor, proportional to the
    # published counts; codes already above their proportional share get nothing more.
    target = weights / weights.sum() * n_products
    extra_need = np.clip(target - min_per_class, 0, None)
    left = n_products - counts.sum()
    if left > 0 and extra_need.sum() > 0:
        share = extra_need / extra_need.sum() * left
        counts += np.floor(share).astype(int)
        remainder = share - np.floor(share)
        for i in np.argsort(-remainder, kind="stable")[: n_products - counts.sum()]:
            counts[i] += 1
    return {code: int(count) for code, count in zip(PRDTYPECODES, counts, strict=True)}


def flip_labels(
    true_codes: np.ndarray, label_noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Re-assign a ``label_noise`` share of labels to another code of the same top-level group.

    Args:
        true_codes: The true code of each product.
        label_noise: Share of labels to flip (0–1).
        rng: Random generator.

    Returns:
        ``(given_codes, flipped)``: the codes to publish and a boolean mask of flipped rows.
    """
    if not 0 <= label_noise < 1:
        raise ValueError(f"label_noise must be in [0, 1), got {label_noise}")
    n_flip = round(label_noise * len(true_codes))
    flipped = np.zeros(len(true_codes), dtype=bool)
    flipped[rng.choice(len(true_codes), size=n_flip, replace=False)] = True
    given = true_codes.copy()
    for i in np.flatnonzero(flipped):
        others = [
            c for c in TOP_LEVEL_GROUPS[GROUP_OF_CODE[int(true_codes[i])]] if c != true_codes[i]
        ]
        given[i] = others[int(rng.integers(len(others)))]
    return given, flipped


def _unique_ids(n: int, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct random integers in ``[low, high)``, in random order."""
    ids = np.unique(rng.integers(low, high, size=n + n // 10 + 10))
    while len(ids) < n:
        ids = np.unique(np.concatenate([ids, rng.integers(low, high, size=n)]))
    return rng.permutation(ids)[:n]


def _prepare_out_dir(out_dir: Path) -> Path:
    """Check ``out_dir`` may be written and return a fresh temporary sibling folder."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"Demo data folder {out_dir} exists and is not a folder")
        if any(out_dir.iterdir()):
            raise FileExistsError(
                f"Demo data folder {out_dir} is not empty; delete it or choose another folder "
                "(the generator never overwrites existing data)"
            )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))


def generate_demo_dataset(
    out_dir: str | Path,
    *,
    n_products: int = 3000,
    n_test: int = 300,
    seed: int = DEFAULT_SEED,
    label_noise: float = 0.08,
    image_size: int = 500,
    uninformative_photo_rate: float = 0.03,
    min_per_class: int = 40,
    difficulty: Difficulty = Difficulty(),
    progress: bool = True,
) -> DemoSummary:
    """Write a deterministic synthetic Rakuten-like data set in the ``challengedata`` layout.

    Text confuses a few clusters of codes (e.g. 1280/1281/1180, books), photos confuse other
    pairs; together they separate almost every code. The same arguments give byte-identical
    files; the CSVs do not depend on ``image_size``, ``uninformative_photo_rate`` or the photo
    knobs of ``difficulty``.

    Args:
        out_dir: Folder to create (must be missing or empty).
        n_products: Number of labelled training products.
        n_test: Number of unlabelled test products (their true codes go to
            ``demo_test_labels.csv``).
        seed: Seed of every random choice.
        label_noise: Share of training labels flipped to another code of the same top-level
            group (recorded in ``demo_label_noise.csv``).
        image_size: Side of the square JPEG photos in pixels.
        uninformative_photo_rate: Share of photos that are blank or a "no image" placeholder.
        min_per_class: Floor on the number of training products per code. The test products
            follow the same proportions with the floor scaled down to the test size.
        difficulty: Strength of the text-only and photo-only confusions and of the class
            imbalance (:class:`Difficulty`; its defaults give the demo).
        progress: Show a progress bar while writing photos.

    Returns:
        A :class:`DemoSummary` of what was written.

    Raises:
        FileExistsError: If ``out_dir`` exists and is not empty.
        ValueError: If the sizes cannot honour ``min_per_class`` or a rate is out of range.
    """
    out_dir = Path(out_dir)
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 pixels, got {image_size}")
    if not 0 <= uninformative_photo_rate <= 1:
        raise ValueError(
            f"uninformative_photo_rate must be in [0, 1], got {uninformative_photo_rate}"
        )
    train_counts = class_counts(n_products, min_per_class, difficulty.class_weight_power)
    # The test set keeps the proportions; its floor shrinks with its size so that it fits.
    test_floor = min(
        n_test // len(PRDTYPECODES), math.ceil(min_per_class * n_test / max(n_products, 1))
    )
    test_counts = class_counts(n_test, test_floor, difficulty.class_weight_power)

    rng = np.random.default_rng(seed)
    train_codes = rng.permutation(np.repeat(PRDTYPECODES, list(train_counts.values())))
    test_codes = rng.permutation(np.repeat(PRDTYPECODES, list(test_counts.values())))
    n_total = n_products + n_test
    productids = _unique_ids(n_total, *PRODUCTID_RANGE, rng)
    imageids = _unique_ids(n_total, *IMAGEID_RANGE, rng)
    product_seeds = rng.integers(0, 2**62, size=n_total)
    given_codes, flipped = flip_labels(train_codes, label_noise, rng)

    writer = ProductTextWriter(
        shared_word_rate=difficulty.shared_word_rate,
        paired_title_rate=difficulty.paired_title_rate,
    )
    true_codes = np.concatenate([train_codes, test_codes])
    titles, descriptions = [], []
    for code, product_seed in zip(true_codes, product_seeds, strict=True):
        text_rng = np.random.default_rng([int(product_seed), 0])
        titles.append(writer.title(int(code), text_rng))
        descriptions.append(writer.description(int(code), text_rng))

    row_ids = np.arange(n_total)
    products = pd.DataFrame(
        {
            "designation": titles,
            "description": pd.Series(descriptions, dtype=object),
            "productid": productids,
            "imageid": imageids,
        },
        index=row_ids,
    )

    temp_dir = _prepare_out_dir(out_dir)
    try:
        products.iloc[:n_products].to_csv(temp_dir / X_TRAIN_FILE)
        products.iloc[n_products:].to_csv(temp_dir / X_TEST_FILE)
        pd.DataFrame({"prdtypecode": given_codes}, index=row_ids[:n_products]).to_csv(
            temp_dir / Y_TRAIN_FILE
        )
        pd.DataFrame(
            {
                "row_id": row_ids[:n_products],
                "productid": productids[:n_products],
                "imageid": imageids[:n_products],
                "true_prdtypecode": train_codes,
                "given_prdtypecode": given_codes,
                "flipped": flipped,
            }
        ).to_csv(temp_dir / LABEL_NOISE_FILE, index=False)
        pd.DataFrame({"row_id": row_ids[n_products:], "prdtypecode": test_codes}).to_csv(
            temp_dir / TEST_LABELS_FILE, index=False
        )

        n_uninformative = 0
        for folder in (TRAIN_IMAGE_DIR, TEST_IMAGE_DIR):
            (temp_dir / folder).mkdir(parents=True)
        photos = tqdm(
            range(n_total), desc="demo photos", unit="photo", disable=not progress, mininterval=1
        )
        for i in photos:
            code = int(true_codes[i])
            photo_rng = np.random.default_rng([int(product_seeds[i]), 1])
            if photo_rng.random() < uninformative_photo_rate:
                photo = draw_uninformative_photo(image_size, photo_rng)
                n_uninformative += 1
            else:
                prototype = VISUAL_PROTOTYPES[PROTOTYPE_OF_CODE[code]]
                photo = draw_product_photo(
                    prototype,
                    hue_shift_of_code(code, difficulty.class_hue_shift),
                    image_size,
                    photo_rng,
                    hue_jitter=difficulty.hue_jitter,
                )
            folder = TRAIN_IMAGE_DIR if i < n_products else TEST_IMAGE_DIR
            name = f"image_{imageids[i]}_product_{productids[i]}.jpg"
            photo.save(temp_dir / folder / name, "JPEG", quality=JPEG_QUALITY)

        summary = DemoSummary(
            out_dir=out_dir,
            n_train=n_products,
            n_test=n_test,
            n_flipped=int(flipped.sum()),
            n_empty_descriptions=int(products["description"].isna().sum()),
            n_uninformative_photos=n_uninformative,
            train_class_counts=train_counts,
            test_class_counts=test_counts,
        )
        manifest = {
            "arguments": {
                "n_products": n_products, "n_test": n_test, "seed": seed,
                "label_noise": label_noise, "image_size": image_size,
                "uninformative_photo_rate": uninformative_photo_rate,
                "min_per_class": min_per_class,
            },
            "summary": {k: v for k, v in asdict(summary).items() if k != "out_dir"},
        }  # fmt: skip
        if difficulty != Difficulty():  # the demo's manifest stays as it always was
            manifest["arguments"]["difficulty"] = asdict(difficulty)
        (temp_dir / MANIFEST_FILE).write_text(
            json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
        )
        if out_dir.exists():  # empty (checked above); os.replace needs it gone on some systems
            out_dir.rmdir()
        os.replace(temp_dir, out_dir)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return summary
