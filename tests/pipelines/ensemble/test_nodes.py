"""Ensemble votes on hand-made member outputs, and the submission table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rakuten_kedro.pipelines.ensemble import create_pipeline
from rakuten_kedro.pipelines.ensemble.nodes import make_submission, vote_test, vote_validation
from rakuten_kedro.tables import predictions_table, probs_table
from tests.grids import make_grid

CODES = [10, 40, 50]
ENCODING = {"codes": CODES}
MAJORITY, SOFT = {"rule": "majority"}, {"rule": "soft"}


def test_vote_validation_majority_and_tie_break():
    products = pd.DataFrame({"row_id": [7, 8, 9], "label": [0, 1, 2], "split": "val"})
    member_probs = [
        probs_table(np.array([7, 8]), np.array([[0.6, 0.4, 0.0], [0.1, 0.2, 0.7]]), CODES),
        probs_table(np.array([8, 7]), np.array([[0.0, 0.9, 0.1], [0.3, 0.7, 0.0]]), CODES),
    ]
    products = products[products["row_id"] != 9]
    votes = vote_validation(products, ENCODING, MAJORITY, *member_probs)
    # row 7: votes 0 (0.6) and 1 (0.7): tie → summed 0.9 vs 1.1 → class 1 (code 40)
    # row 8: votes 2 (0.7) and 1 (0.9): tie → summed 0.3 vs 1.1 → class 1
    assert votes["row_id"].tolist() == [7, 8]
    assert votes["prdtypecode"].tolist() == [40, 40]


def test_soft_and_majority_differ_where_two_hesitant_members_outvote_a_confident_one():
    products = pd.DataFrame({"row_id": [7], "label": [0], "split": "val"})
    hesitant = probs_table(np.array([7]), np.array([[0.45, 0.55, 0.0]]), CODES)
    confident = probs_table(np.array([7]), np.array([[1.0, 0.0, 0.0]]), CODES)
    members = (hesitant, hesitant, confident)
    # majority: two votes for code 40; soft: mean 0.63 for code 10 against 0.37
    assert vote_validation(products, ENCODING, MAJORITY, *members)["prdtypecode"].tolist() == [40]
    assert vote_validation(products, ENCODING, SOFT, *members)["prdtypecode"].tolist() == [10]
    with pytest.raises(ValueError, match="ensemble.rule"):
        vote_validation(products, ENCODING, {"rule": "mean"}, *members)


def test_vote_test_uses_the_members_fold_votes():
    row_ids = np.array([1, 2])
    pairs = []
    for labels in ([2, 0], [2, 1], [0, 1]):
        pairs += [
            predictions_table(row_ids, np.array(labels), CODES),
            probs_table(row_ids, np.full((2, 3), 1 / 3), CODES),
        ]
    votes = vote_test(ENCODING, MAJORITY, *pairs)
    assert votes["label"].tolist() == [2, 1]
    with pytest.raises(ValueError, match="pairs"):
        vote_test(ENCODING, MAJORITY, pairs[0])


def test_soft_vote_on_test_rows_averages_the_members_probabilities():
    row_ids = np.array([1])
    pairs = []
    for label, probs in ((1, [0.45, 0.55, 0.0]), (1, [0.45, 0.55, 0.0]), (0, [1.0, 0.0, 0.0])):
        pairs += [
            predictions_table(row_ids, np.array([label]), CODES),
            probs_table(row_ids, np.array([probs]), CODES),
        ]
    assert vote_test(ENCODING, SOFT, *pairs)["label"].tolist() == [0]
    assert vote_test(ENCODING, MAJORITY, *pairs)["label"].tolist() == [1]


def test_make_submission_needs_every_test_product():
    test_products = pd.DataFrame({"row_id": [5, 6], "productid": [50, 60], "imageid": [500, 600]})
    predictions = predictions_table(np.array([6, 5]), np.array([1, 2]), CODES)
    submission = make_submission(predictions, test_products)
    assert submission.to_dict("list") == {
        "row_id": [5, 6], "productid": [50, 60], "imageid": [500, 600], "prdtypecode": [50, 40],
    }  # fmt: skip
    with pytest.raises(ValueError, match=r"no ensemble prediction for 1 of 2 test products"):
        make_submission(predictions.head(1), test_products)


def test_pipeline_votes_every_member():
    grid = make_grid([(f"m{i}", "text_t", "image_i", "n") for i in range(3)])
    pipeline = create_pipeline(grid)
    assert {"m0.val_probs", "m2.test_predictions", "m2.test_probs"} <= pipeline.inputs()
    assert pipeline.outputs() == {"ensemble.val_predictions", "submission"}
