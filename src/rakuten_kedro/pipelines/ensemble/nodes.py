"""Nodes of the ensemble pipeline: the members' vote (``ensemble.rule``) and the submission."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rakuten_kedro.config import Ensemble, parses_params
from rakuten_kedro.fusion.vote import ensemble_vote
from rakuten_kedro.tables import prediction_labels, predictions_table, probs_matrix, validation_rows


@parses_params
def vote_validation(
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
    ensemble: Ensemble,
    *member_val_probs: pd.DataFrame,
) -> pd.DataFrame:
    """The members' vote (``ensemble.rule``) on their out-of-fold validation probabilities.

    Under ``majority`` each member votes for its most probable class; ties go to the highest
    summed probability. The members' predictions are out-of-fold, so the vote is an honest
    validation score too.

    Args:
        products: The ``products`` table (validation rows).
        label_encoding: ``{"codes": [...]}``.
        ensemble: The ``ensemble`` parameters (``rule``).
        *member_val_probs: Every member's ``{member}.val_probs``.

    Returns:
        ``row_id``, ``label``, ``prdtypecode`` of the validation rows.
    """
    codes = list(label_encoding["codes"])
    row_ids, _ = validation_rows(products)
    probs = np.stack(
        [
            probs_matrix(table, codes, row_ids, f"member {index} val_probs")
            for index, table in enumerate(member_val_probs)
        ]
    )
    return predictions_table(
        row_ids, ensemble_vote(ensemble.rule, probs.argmax(axis=2), probs), codes
    )


@parses_params
def vote_test(
    label_encoding: dict[str, Any], ensemble: Ensemble, *member_tables: pd.DataFrame
) -> pd.DataFrame:
    """The members' vote (``ensemble.rule``) on the test rows.

    Args:
        label_encoding: ``{"codes": [...]}``.
        ensemble: The ``ensemble`` parameters (``rule``).
        *member_tables: For each member in turn, its ``{member}.test_predictions`` (its fold
            networks' vote, counted by ``majority``) then its ``{member}.test_probs`` (its fold
            networks' mean probabilities: averaged by ``soft``, tie-breaks of ``majority``).

    Returns:
        ``row_id``, ``label``, ``prdtypecode`` of the test rows, in the first member's order.
    """
    if len(member_tables) % 2 or not member_tables:
        raise ValueError("vote_test needs (test_predictions, test_probs) pairs, one per member")
    codes = list(label_encoding["codes"])
    row_ids = member_tables[0]["row_id"].to_numpy(dtype=np.int64)
    pairs = list(zip(member_tables[::2], member_tables[1::2], strict=True))
    votes = np.stack(
        [
            prediction_labels(table, row_ids, f"member {i} test_predictions")
            for i, (table, _) in enumerate(pairs)
        ]
    )
    probs = np.stack(
        [
            probs_matrix(table, codes, row_ids, f"member {i} test_probs")
            for i, (_, table) in enumerate(pairs)
        ]
    )
    return predictions_table(row_ids, ensemble_vote(ensemble.rule, votes, probs), codes)


def make_submission(test_predictions: pd.DataFrame, test_products: pd.DataFrame) -> pd.DataFrame:
    """One prediction per test product, with the ids the submission formats need.

    Args:
        test_predictions: ``row_id``, ``prdtypecode`` (the ensemble's test vote).
        test_products: The ``test_products`` table (``row_id``, ``productid``, ``imageid``).

    Returns:
        ``row_id``, ``productid``, ``imageid``, ``prdtypecode`` in ``test_products`` order.
    """
    submission = test_products[["row_id", "productid", "imageid"]].merge(
        test_predictions[["row_id", "prdtypecode"]], on="row_id", how="left", validate="1:1"
    )
    missing = submission.loc[submission["prdtypecode"].isna(), "row_id"]
    if len(missing):
        raise ValueError(
            f"no ensemble prediction for {len(missing)} of {len(submission)} test products, "
            f"e.g. row_id {missing.head(5).tolist()}: were the models run on these test products?"
        )
    return submission.astype({"prdtypecode": "int64"})
