"""Denoising: cleanlab ranks injected flips first; the table and the truth scoring are exact."""

import numpy as np
import pandas as pd
import pytest

from rakuten_kedro.vision.denoise import (
    LABEL_ISSUE_COLUMNS,
    label_issues_table,
    rank_label_issues,
    score_flags,
    stratified_folds,
)

CODES = [10, 40, 50, 60]


def noisy_set(n: int = 400, flip_rate: float = 0.1, seed: int = 0):
    """Out-of-fold-like probabilities of a decent classifier, and labels with known flips."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, n)
    logits = rng.normal(0, 1, (n, 4))
    logits[np.arange(n), truth] += 3.0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    flipped = rng.random(n) < flip_rate
    given = truth.copy()
    given[flipped] = (truth[flipped] + rng.integers(1, 4, flipped.sum())) % 4
    products = pd.DataFrame(
        {"row_id": np.arange(n) + 1000, "productid": np.arange(n) * 7, "imageid": np.arange(n) * 11,
         "label": given}
    )  # fmt: skip
    noise = pd.DataFrame({"row_id": products["row_id"], "productid": products["productid"],
                          "flipped": flipped})  # fmt: skip
    return products, probs.astype(np.float32), flipped, noise


def test_flipped_rows_are_ranked_first():
    products, probs, flipped, _ = noisy_set()
    ranked, quality = rank_label_issues(products["label"].to_numpy(), probs)
    n_flipped = int(flipped.sum())
    precision_at_k = flipped[ranked[:n_flipped]].mean()
    assert precision_at_k > 0.7 > 3 * flipped.mean()
    assert quality.shape == (len(products),)
    # Quality is lowest for the most suspicious rows.
    assert quality[ranked[:10]].mean() < quality.mean()


def test_label_issues_table_and_scores():
    products, probs, flipped, noise = noisy_set()
    ranked, quality = rank_label_issues(products["label"].to_numpy(), probs)
    table = label_issues_table(products, probs, ranked, quality, CODES, drop_fraction=0.5)
    assert list(table.columns) == LABEL_ISSUE_COLUMNS
    assert table["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert table["dropped"].sum() == round(0.5 * len(ranked))
    assert table["dropped"].iloc[0] and not table["dropped"].iloc[-1]
    assert (table["given_prdtypecode"] != table["suggested_prdtypecode"]).all()
    assert set(table["given_prdtypecode"]) <= set(CODES)
    first = table.iloc[0]
    row = products.set_index("row_id").loc[first["row_id"]]
    assert first["productid"] == row["productid"]
    assert first["given_prdtypecode"] == CODES[row["label"]]
    names = {10: "used books", 40: "imported video games", 50: "gaming accessories", 60: "consoles"}
    for column in ("given", "suggested"):
        codes = table[f"{column}_prdtypecode"]
        assert table[f"{column}_category"].tolist() == codes.map(names).tolist()

    scores = score_flags(table, noise, products["row_id"])
    assert scores["n_flipped"] == flipped.sum()
    assert scores["flip_rate"] == pytest.approx(flipped.mean())
    flagged = scores["flagged"]
    hits = flipped[ranked].sum()
    assert flagged["precision"] == pytest.approx(hits / len(ranked))
    assert flagged["recall"] == pytest.approx(hits / flipped.sum())
    assert scores["top_n_flipped"]["lift"] > 3


def test_score_flags_refuses_a_truth_file_of_other_data():
    products, probs, _, noise = noisy_set(50)
    table = label_issues_table(
        products, probs, np.array([0, 1]), np.zeros(50), CODES, drop_fraction=0.1
    )
    with pytest.raises(ValueError, match="lacks 50 training row_id"):
        score_flags(table, noise.assign(row_id=noise["row_id"] + 10**6), products["row_id"])


def test_stratified_folds():
    labels = np.repeat([0, 1, 2], 8)
    folds = stratified_folds(labels, 4, seed=1)
    assert sorted(np.bincount(folds)) == [6, 6, 6, 6]
    for fold in range(4):
        assert sorted(labels[folds == fold].tolist()) == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="into 4 folds"):
        stratified_folds([0, 1], 4, seed=1)
