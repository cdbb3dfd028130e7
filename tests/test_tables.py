"""The pipelines' tables ↔ arrays (label codes, split rows, probabilities, features,
predictions), with errors naming what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rakuten_kedro.tables import (
    features_matrix,
    label_codes,
    prediction_labels,
    predictions_table,
    probs_matrix,
    probs_table,
    rows_in_split,
    validation_rows,
)

CODES = [10, 40, 50]


def test_probs_round_trip_and_reorder_by_row_id():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], dtype=np.float32)
    table = probs_table(np.array([5, 9]), probs, CODES)
    assert list(table.columns) == ["row_id", "10", "40", "50"]
    assert np.allclose(probs_matrix(table, CODES, np.array([9, 5])), probs[::-1])


def test_probs_matrix_names_missing_columns_and_rows():
    table = probs_table(np.array([1, 2]), np.ones((2, 3)) / 3, CODES)
    with pytest.raises(ValueError, match=r"text val_probs: no probability column for codes \[60\]"):
        probs_matrix(table, [*CODES, 60], name="text val_probs")
    with pytest.raises(
        ValueError, match=r"1 of the 2 expected rows are missing, e\.g\. row_id \[7\]"
    ):
        probs_matrix(table, CODES, np.array([1, 7]), name="image val_probs")


def test_features_matrix_orders_columns_numerically():
    table = pd.DataFrame({"row_id": [1, 2], **{f"f{i}": [i, 10 + i] for i in range(12)}})
    table = table[["row_id", "f10", "f2", "f0", "f1", "f11", *[f"f{i}" for i in range(3, 10)]]]
    assert features_matrix(table)[0].tolist() == list(range(12))


def test_prediction_tables_hold_labels_and_codes():
    table = predictions_table(np.array([3, 4]), np.array([2, 0]), CODES)
    assert table["prdtypecode"].tolist() == [50, 10]
    assert prediction_labels(table, np.array([4, 3])).tolist() == [0, 2]


def test_validation_rows_needs_a_validation_split():
    products = pd.DataFrame({"row_id": [1, 2], "label": [0, 1], "split": ["train", "val"]})
    row_ids, labels = validation_rows(products)
    assert row_ids.tolist() == [2] and labels.tolist() == [1]
    with pytest.raises(ValueError, match="no row has split == 'val'"):
        validation_rows(products.assign(split="train"))


def test_label_codes_and_split_rows_send_back_to_preprocessing():
    assert label_codes({"codes": ["10", 2583]}) == [10, 2583]
    with pytest.raises(KeyError, match="no 'codes' list; rerun the preprocessing pipeline"):
        label_codes({})
    products = pd.DataFrame(
        {"row_id": [1, 2, 3], "label": [0, 1, 1], "split": ["val", "train", "val"]}
    )
    assert rows_in_split(products, "val")["row_id"].tolist() == [1, 3]
    with pytest.raises(KeyError, match="products has no 'split' column; rerun the preprocessing"):
        validation_rows(products.drop(columns="split"))
