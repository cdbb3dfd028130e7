"""Synthetic products whose photos show their class (colour and stripes), for image tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CODES = [10, 40, 50, 60]
#: One clear colour per class: a small CNN separates them within a few epochs.
COLOURS = np.array([[220, 40, 40], [40, 200, 40], [40, 40, 220], [230, 230, 40]], dtype=np.float32)


@dataclass
class FakeImageCache:
    """Stand-in for ``ImageCache``: ``row_ids``, ``sizes``, ``images(size)``,
    ``pixel_digests(size)``."""

    row_ids: np.ndarray
    arrays: dict[int, np.ndarray] = field(repr=False)

    @property
    def sizes(self) -> list[int]:
        return sorted(self.arrays)

    def images(self, size: int) -> np.ndarray:
        return self.arrays[size]

    def pixel_digests(self, size: int) -> np.ndarray:
        photos = self.arrays[size]
        rows = [hashlib.blake2b(photo.tobytes(), digest_size=16).digest() for photo in photos]
        return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 16)


def class_photos(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """(n, size, size, 3) uint8 photos: a class-coloured square on a noisy grey background."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    photos = rng.normal(128, 30, (n, size, size, 3))
    lo, hi = size // 4, size - size // 4
    photos[:, lo:hi, lo:hi] = COLOURS[labels][:, None, None, :] + rng.normal(0, 15, (n, 1, 1, 3))
    return np.clip(photos, 0, 255).astype(np.uint8)


def make_image_products(
    n_per_class: int = 30, flip_rate: float = 0.1, sizes=(16, 24), seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, FakeImageCache, FakeImageCache, pd.DataFrame]:
    """Products (4 classes, 20 % validation), test products, both caches, and a truth file.

    The photos follow the *true* class; ``flip_rate`` of the training labels are flipped.
    """
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(CODES)), n_per_class)
    rng.shuffle(truth)
    n = len(truth)
    split = np.where(np.arange(n) % 5 == 0, "val", "train")
    flipped = (split == "train") & (rng.random(n) < flip_rate)
    given = truth.copy()
    given[flipped] = (truth[flipped] + rng.integers(1, len(CODES), flipped.sum())) % len(CODES)
    row_ids = np.arange(n) + 500
    products = pd.DataFrame(
        {
            "row_id": row_ids,
            "productid": row_ids * 3 + 1,
            "imageid": row_ids * 7 + 2,
            "prdtypecode": np.asarray(CODES)[given],
            "label": given,
            "split": split,
        }
    )
    test_labels = np.arange(8) % len(CODES)
    test_products = pd.DataFrame({"row_id": np.arange(8) + 10_000, "productid": np.arange(8)})
    cache = FakeImageCache(row_ids, {s: class_photos(truth, s, seed + s) for s in sizes})
    test_cache = FakeImageCache(
        test_products["row_id"].to_numpy(), {s: class_photos(test_labels, s, s) for s in sizes}
    )
    noise = pd.DataFrame(
        {
            "row_id": row_ids,
            "productid": products["productid"],
            "imageid": products["imageid"],
            "true_prdtypecode": np.asarray(CODES)[truth],
            "given_prdtypecode": products["prdtypecode"],
            "flipped": flipped,
        }
    )
    return products, test_products, cache, test_cache, noise
