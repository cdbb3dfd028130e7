"""The tables the pipelines pass each other, and their conversions to and from arrays.

Formats are fixed in docs/architecture.md. From preprocessing: ``label_encoding``
(``{"codes": [...]}``, the codes in label-index order) and ``products`` (``row_id``, ``label``,
``split`` in ``train``/``val``, …). From the models: probability tables hold ``row_id`` then one
float column per code named ``str(code)`` in ``label_encoding`` order; feature tables hold
``row_id`` then ``f0 … f{d-1}``; prediction tables hold ``row_id``, ``label``, ``prdtypecode``.
(Reading the raw challenge files is ``datasets/product_tables.py``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
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


def keep_training_rows(products: pd.DataFrame, training_ids: pd.DataFrame) -> pd.DataFrame:
    """``products`` without the training rows that ``training_ids`` does not list (validation
    and test rows stay): what a variant trained on denoised ids learns and selects epochs from.

    Raises:
        ValueError: An id is not a training product's (the ids are stale: denoising ran on
            other products).
    """
    train = rows_in_split(products, "train")
    unknown = ~training_ids["row_id"].isin(train["row_id"])
    if unknown.any():
        raise ValueError(
            f"{int(unknown.sum())} training ids are not training products, e.g. row_id "
            f"{training_ids.loc[unknown, 'row_id'].head(3).tolist()}: rerun the denoising pipeline"
        )
    left_out = (products["split"] == "train") & ~products["row_id"].isin(training_ids["row_id"])
    return products[~left_out]


def validation_rows(products: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Returns the ``row_id`` and ``label`` of the validation rows of ``products``, in table order.

    Args:
        products: The ``products`` table (``row_id``, ``label``, ``split``, …).

    Returns:
        ``(row_ids, labels)``, both int64.
    """
    val = rows_in_split(products, "val")
    if val.empty:
        raise ValueError(
            "products: no row has split == 'val'; fusion trains on the validation rows"
        )
    return val["row_id"].to_numpy(dtype=np.int64), val["label"].to_numpy(dtype=np.int64)


def _row_positions(table: pd.DataFrame, row_ids: np.ndarray, name: str) -> np.ndarray:
    """Positions in ``table`` of ``row_ids``, with errors that say which rows are wrong."""
    if "row_id" not in table.columns:
        raise ValueError(f"{name}: no `row_id` column (columns: {list(table.columns)[:8]}…)")
    table_ids = table["row_id"].to_numpy()
    if len(np.unique(table_ids)) != len(table_ids):
        duplicated = pd.Series(table_ids)[pd.Series(table_ids).duplicated()].unique()[:5]
        raise ValueError(f"{name}: duplicated row_id values, e.g. {duplicated.tolist()}")
    index = pd.Index(table_ids)
    positions = index.get_indexer(row_ids)
    missing = np.asarray(row_ids)[positions < 0]
    if len(missing):
        raise ValueError(
            f"{name}: {len(missing)} of the {len(row_ids)} expected rows are missing, "
            f"e.g. row_id {missing[:5].tolist()}; was it computed on the same products?"
        )
    return positions


def probs_matrix(
    table: pd.DataFrame, codes: Sequence[int], row_ids: np.ndarray | None = None, name: str = ""
) -> np.ndarray:
    """Reads a probability table into an ``(N, C)`` float32 array in ``codes`` order.

    Args:
        table: ``row_id`` + one column per code named ``str(code)``.
        codes: The codes in label order (``label_encoding["codes"]``).
        row_ids: Rows wanted, in the wanted order; ``None`` keeps the table's order.
        name: The table's catalog name, for error messages.

    Returns:
        ``(N, C)`` float32 probabilities.
    """
    columns = [str(code) for code in codes]
    missing = [code for code in codes if str(code) not in table.columns]
    if missing:
        raise ValueError(f"{name}: no probability column for codes {missing[:8]}")
    values = table[columns].to_numpy(dtype=np.float32)
    if row_ids is not None:
        values = values[_row_positions(table, np.asarray(row_ids), name)]
    return values


def features_matrix(
    table: pd.DataFrame, row_ids: np.ndarray | None = None, name: str = ""
) -> np.ndarray:
    """Reads a feature table (``row_id``, ``f0 … f{d-1}``) into an ``(N, d)`` float32 array.

    Args:
        table: The feature table.
        row_ids: Rows wanted, in the wanted order; ``None`` keeps the table's order.
        name: The table's catalog name, for error messages.

    Returns:
        ``(N, d)`` float32 features, columns in ``f0, f1, …`` order.
    """
    columns = sorted(
        (column for column in table.columns if str(column).startswith("f")),
        key=lambda column: int(str(column)[1:]),
    )
    if not columns:
        raise ValueError(
            f"{name}: no feature columns f0, f1, … (columns: {list(table.columns)[:8]})"
        )
    values = table[columns].to_numpy(dtype=np.float32)
    if row_ids is not None:
        values = values[_row_positions(table, np.asarray(row_ids), name)]
    return values


def probs_table(row_ids: np.ndarray, probs: np.ndarray, codes: Sequence[int]) -> pd.DataFrame:
    """Builds a probability table (``row_id`` + one column per code) from an array.

    Args:
        row_ids: ``(N,)`` row ids.
        probs: ``(N, C)`` probabilities in ``codes`` order.
        codes: The codes in label order.

    Returns:
        The table, in the format of ``{variant}.val_probs``.
    """
    table = pd.DataFrame(np.asarray(probs, dtype=np.float32), columns=[str(c) for c in codes])
    table.insert(0, "row_id", np.asarray(row_ids, dtype=np.int64))
    return table


def features_table(row_ids: np.ndarray, features: np.ndarray) -> pd.DataFrame:
    """Builds a feature table (``row_id`` + ``f0 … f{d-1}``) from an array.

    Args:
        row_ids: ``(N,)`` row ids.
        features: ``(N, d)`` pooled features.

    Returns:
        The table, in the format of ``{variant}.val_features``.
    """
    features = np.asarray(features, dtype=np.float32)
    table = pd.DataFrame(features, columns=[f"f{i}" for i in range(features.shape[1])])
    table.insert(0, "row_id", np.asarray(row_ids, dtype=np.int64))
    return table


def predictions_table(
    row_ids: np.ndarray, labels: np.ndarray, codes: Sequence[int]
) -> pd.DataFrame:
    """Builds a prediction table: ``row_id``, ``label`` (index) and ``prdtypecode``.

    Args:
        row_ids: ``(N,)`` row ids.
        labels: ``(N,)`` predicted label indices.
        codes: The codes in label order.

    Returns:
        The prediction table.
    """
    labels = np.asarray(labels, dtype=np.int64)
    return pd.DataFrame(
        {
            "row_id": np.asarray(row_ids, dtype=np.int64),
            "label": labels,
            "prdtypecode": np.asarray(codes, dtype=np.int64)[labels],
        }
    )


def prediction_labels(
    table: pd.DataFrame, row_ids: np.ndarray | None = None, name: str = ""
) -> np.ndarray:
    """Reads the ``label`` column of a prediction table, optionally reordered to ``row_ids``.

    Args:
        table: A table from ``predictions_table``.
        row_ids: Rows wanted, in the wanted order; ``None`` keeps the table's order.
        name: The table's catalog name, for error messages.

    Returns:
        ``(N,)`` int64 label indices.
    """
    if "label" not in table.columns:
        raise ValueError(f"{name}: no `label` column (columns: {list(table.columns)})")
    labels = table["label"].to_numpy(dtype=np.int64)
    if row_ids is not None:
        labels = labels[_row_positions(table, np.asarray(row_ids), name)]
    return labels
