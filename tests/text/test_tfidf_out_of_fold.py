"""TF-IDF out-of-fold probabilities: every row from the model fitted on the other folds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rakuten_kedro.text.tfidf import (
    tfidf_out_of_fold,
    tfidf_probabilities,
    train_tfidf_classifier,
)
from rakuten_kedro.training.folds import assign_folds
from tests.params import params
from tests.text.products import CODES, make_text_products

SETTINGS = params("text_tfidf.model", min_df=1, seed=5)


def memorisable_products(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Products whose only text is a word of their own (random letters) and whose label is
    random: a model can learn a row's label only by having seen that very row."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    titles = ["".join(rng.choice(letters, 12)) for _ in range(n)]
    return pd.DataFrame(
        {
            "row_id": np.arange(n) + 10,
            "title": titles,
            "description": "",
            "label": rng.integers(0, 4, n),
        }
    )


def test_each_row_comes_from_the_model_of_the_other_folds():
    products = make_text_products(120)
    folds = assign_folds(products["label"].to_numpy(), 3, seed=1)
    oof = tfidf_out_of_fold(products, folds, SETTINGS, len(CODES))
    assert oof.shape == (120, len(CODES)) and oof.dtype == np.float32
    for fold in range(3):
        held = folds == fold
        model = train_tfidf_classifier(products[~held], SETTINGS)
        expected = tfidf_probabilities(model, products[held], len(CODES))
        np.testing.assert_array_equal(oof[held], expected)
    # The text says the class: the out-of-fold model still finds it.
    assert (oof.argmax(axis=1) == products["label"].to_numpy()).mean() > 0.9


def test_no_row_is_scored_by_a_model_that_saw_it():
    products = memorisable_products()
    labels = products["label"].to_numpy()
    rows = np.arange(len(products))
    seen = tfidf_probabilities(train_tfidf_classifier(products, SETTINGS), products, 4)
    oof = tfidf_out_of_fold(products, assign_folds(labels, 4, seed=0), SETTINGS, 4)
    # A model that saw the row recalls its label from its unique word; out of fold, nothing
    # tells it, so its probability is near chance (1/4).
    assert seen[rows, labels].mean() > 0.6
    assert oof[rows, labels].mean() < 0.35
