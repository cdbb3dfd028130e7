"""A photo gallery of products with captions, for the analysis notebook."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image


def _photo(path: str, size: int) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB").resize((size, size)))
    except (OSError, ValueError):
        return np.full((size, size, 3), 235, dtype=np.uint8)  # grey: no readable photo


def product_gallery(
    image_paths: Sequence[str],
    captions: Sequence[str],
    columns: int = 4,
    size: int = 160,
    title: str = "",
) -> Figure:
    """Photos in a grid, each with a wrapped caption (missing photos are shown grey).

    Args:
        image_paths: Photo files (the ``image_path`` column of a product table).
        captions: One caption per photo (e.g. title and true → predicted code).
        columns: Photos per row.
        size: Side (px) each photo is resized to.
        title: Figure title.

    Returns:
        The figure.
    """
    count = max(1, len(image_paths))
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(3.2 * columns, 3.6 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for axis in axes:
        axis.axis("off")
    for axis, path, caption in zip(axes, image_paths, captions, strict=False):
        axis.imshow(_photo(str(path), size))
        axis.set_title("\n".join(textwrap.wrap(caption, 34)[:4]), fontsize=8)
        if not Path(str(path)).is_file():
            axis.text(size / 2, size / 2, "no photo", ha="center", va="center")
    if title:
        figure.suptitle(title)
    return figure
