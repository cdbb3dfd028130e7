"""Torch datasets and loaders over the decode-once image cache.

The cache (``rakuten_kedro.datasets.image_cache.ImageCache``) holds every product photo as a
row of a uint8 memmap ``(N, S, S, 3)``. A dataset item is just that row (no decoding, no
augmentation): augmentation runs batched on the training device (``vision.augment``), so the
loader workers only copy bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset


class ImageCacheLike(Protocol):
    """What the image code needs from an image cache (``ImageCache`` or a test stand-in)."""

    row_ids: np.ndarray
    sizes: list[int]

    def images(self, size: int) -> np.ndarray: ...

    def pixel_digests(self, size: int) -> np.ndarray:
        """``(N, 16)`` uint8, aligned with ``row_ids``: row ``i`` is the content digest of
        ``images(size)[i]`` (``image_cache.pixel_digest``), so the pixels of the rows a model
        learns from are fingerprinted as ``digest(cache.pixel_digests(size)[positions])``."""
        ...


def cache_images(cache: ImageCacheLike, size: int) -> np.ndarray:
    """The cache's (N, size, size, 3) uint8 array, with a clear error for a missing size."""
    sizes = list(cache.sizes)
    if int(size) not in sizes:
        raise ValueError(
            f"the image cache has sizes {sizes} but the image model asks for {size} px: "
            "add it to the preprocessing parameter that lists the cache sizes, or change "
            "the image model's 'cache_size'"
        )
    return cache.images(int(size))


def positions_of(cache: ImageCacheLike, row_ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """Positions in the cache of the given product ``row_id`` values.

    Raises:
        KeyError: Naming the first row ids that the cache does not contain.
    """
    cache_ids = pd.Index(np.asarray(cache.row_ids))
    wanted = np.asarray(row_ids)
    positions = cache_ids.get_indexer(wanted)
    if (positions < 0).any():
        missing = wanted[positions < 0][:5].tolist()
        raise KeyError(
            f"row_id {missing} (and {(positions < 0).sum() - len(missing)} more) not in the "
            "image cache: rebuild it (it must be aligned with the products table)"
        )
    return positions


class CachedImageDataset(Dataset):
    """Items ``{"images": uint8 (S, S, 3), "labels": long, "index": long}`` from the cache.

    Args:
        images: The cache array (N, S, S, 3) (a memmap is read lazily).
        positions: Which cache rows this dataset exposes, in order.
        labels: Optional label per exposed row (same length as ``positions``).
    """

    def __init__(
        self, images: np.ndarray, positions: np.ndarray, labels: np.ndarray | None = None
    ) -> None:
        self.images = images
        self.positions = np.asarray(positions, dtype=np.int64)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        if self.labels is not None and len(self.labels) != len(self.positions):
            raise ValueError(
                f"{len(self.labels)} labels for {len(self.positions)} images: they must match"
            )

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, item: int) -> dict[str, Any]:
        # np.array copies out of the read-only memmap (torch refuses non-writable buffers).
        sample = {
            "images": torch.from_numpy(np.array(self.images[self.positions[item]])),
            "index": torch.tensor(item, dtype=torch.long),
        }
        if self.labels is not None:
            sample["labels"] = torch.tensor(self.labels[item], dtype=torch.long)
        return sample


def image_loader(
    dataset: CachedImageDataset,
    *,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` over a :class:`CachedImageDataset` (pinned memory when on GPU)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        drop_last=drop_last and len(dataset) > batch_size,
        generator=generator,
        persistent_workers=num_workers > 0,
    )
