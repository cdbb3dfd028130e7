"""Small accessors of the preprocessing outputs that every model pipeline reads."""

from __future__ import annotations

from typing import Any

import pandas as pd


def label_codes(label_encoding: dict[str, Any]) -> list[int]:
    """The product type codes in label-index order, from the ``label_encoding`` JSON."""
    if "codes" not in label_encoding:
        raise KeyError("label_encoding has no 'codes' list; rerun the preprocessing pipeline")
    return [int(code) for code in label_encoding["codes"]]


def rows_in_split(products: pd.DataFrame, split: str) -> pd.DataFrame:
    """The labelled products of one split (``train`` or ``val``), in table order."""
    for column in ("row_id", "label", "split"):
        if column not in products.columns:
            raise KeyError(f"products has no '{column}' column; rerun the preprocessing pipeline")
    return products[products["split"] == split]
