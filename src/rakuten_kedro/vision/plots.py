"""Figure of the products that denoising flags first: photo, given code, suggested code."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # figures are saved by Kedro datasets, never shown

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rakuten_kedro.codes import code_label


def plot_top_flags(
    label_issues: pd.DataFrame,
    photos: np.ndarray,
    *,
    columns: int = 4,
) -> Figure:
    """A grid of the top-ranked label issues.

    Args:
        label_issues: The first rows of ``label_issues`` (``rank``, ``row_id``,
            ``given_prdtypecode``, ``suggested_prdtypecode``, ``suggested_prob``), in order.
        photos: (n, S, S, 3) uint8 photos of those rows, same order.
        columns: Photos per row of the grid.

    Returns:
        The matplotlib figure.
    """
    count = len(label_issues)
    rows = max(1, math.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (i, issue) in zip(
        axes.flat, enumerate(label_issues.itertuples(index=False)), strict=False
    ):
        ax.imshow(photos[i])
        title = (
            f"#{issue.rank}  row {issue.row_id}\n"
            f"given {code_label(issue.given_prdtypecode)}\n"
            f"suggested {code_label(issue.suggested_prdtypecode)} ({issue.suggested_prob:.0%})"
        )
        ax.set_title(title, fontsize=8)
    if count == 0:
        axes.flat[0].text(0.5, 0.5, "no label issues found", ha="center", va="center")
    fig.suptitle("Training products most likely mislabelled (cleanlab, image model)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))  # leave room for the title
    return fig
