"""Denoising: cleanlab ranks injected flips first; the table and the truth scoring are exact."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.training.loop import FitResult
from rakuten_kedro.vision import denoise
from rakuten_kedro.vision.denoise import (
    LABEL_ISSUE_COLUMNS,
    denoising_folds,
    fuse_probabilities,
    label_issues_table,
    prior_corrected_margin,
    rank_label_issues,
    score_flags,
)
from tests.params import params

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


def test_the_margin_divides_each_probability_by_its_class_prior():
    probs = np.array([[0.1, 0.9], [0.3, 0.7]])
    log_prior = np.log([0.9, 0.1])  # class 1 is rare
    margin = prior_corrected_margin(probs, np.array([1, 0]), np.array([0, 1]), log_prior)
    # row 0: given the rare class 1, suggested 0: log(0.1/0.9) - log(0.9/0.1)
    np.testing.assert_allclose(margin, [np.log(0.1 / 0.9) - np.log(0.9 / 0.1),
                                        np.log(0.7 / 0.1) - np.log(0.3 / 0.9)])  # fmt: skip


def test_drop_margin_keeps_the_flags_of_a_rare_class_that_its_rarity_explains():
    """Three rows of class 1 (rare: 3 of 10) are flagged: the models' probability for it is
    low, but once divided by its prior only row 8's contradiction remains clear."""
    products = pd.DataFrame({
        "row_id": np.arange(10), "productid": np.arange(10) + 100, "imageid": np.arange(10) + 200,
        "label": [0] * 7 + [1] * 3,
    })  # fmt: skip
    probs = np.full((10, 2), 0.5)
    probs[7:] = [[0.6, 0.4], [0.99, 0.01], [0.7, 0.3]]
    ranked = np.array([8, 9, 7])
    table = label_issues_table(
        products, probs, ranked, np.zeros(10), CODES[:2], drop_fraction=1.0, drop_margin=2.0
    )
    log_prior = np.log([8 / 12, 4 / 12])  # add-one smoothed given-label frequency
    expected = np.log(probs[ranked, 0]) - log_prior[0] - np.log(probs[ranked, 1]) + log_prior[1]
    np.testing.assert_allclose(table["margin"], expected)
    assert table["dropped"].tolist() == [True, False, False]  # 3.9 nats; 0.15; -0.29
    everything = label_issues_table(
        products, probs, ranked, np.zeros(10), CODES[:2], drop_fraction=1.0
    )
    assert everything["dropped"].all()  # no drop_margin: every flag within drop_fraction
    top = label_issues_table(
        products, probs, ranked, np.zeros(10), CODES[:2], drop_fraction=0.34, drop_margin=0.0
    )
    assert top["dropped"].tolist() == [True, False, False]  # the fraction still caps it


def test_score_flags_refuses_a_truth_file_of_other_data():
    products, probs, _, noise = noisy_set(50)
    table = label_issues_table(
        products, probs, np.array([0, 1]), np.zeros(50), CODES, drop_fraction=0.1
    )
    with pytest.raises(ValueError, match="lacks 50 training row_id"):
        score_flags(table, noise.assign(row_id=noise["row_id"] + 10**6), products["row_id"])


def test_denoising_folds_pick_their_epoch_on_the_validation_split(monkeypatch, tmp_path):
    """Fold k trains on the other folds with seed + k, in checkpoint_root/fold{k}, picks its
    epoch on the validation split, and alone predicts its own rows."""
    positions, val_positions = np.arange(30) + 100, np.arange(5)
    labels = np.arange(30) % 3
    folds = assign_folds(labels, 3, seed=0)
    digests = np.arange(135)
    fits = []

    def fake_fit(model, images, train_positions, train_labels, **kwargs):
        fits.append({"seed": torch.initial_seed(), "train": train_positions, **kwargs})
        model.fold = len(fits) - 1
        return FitResult(model=model, best_epoch=2, best_score=0.5, history=[])

    def fake_predict(model, images, rows, **kwargs):
        return np.tile(np.eye(3, dtype=np.float32)[model.fold], (len(rows), 1)), None

    monkeypatch.setattr(denoise, "fit_image_classifier", fake_fit)
    monkeypatch.setattr(denoise, "predict_image_classifier", fake_predict)
    settings = params("denoising", run={"seed": 7}, train={"input_size": 16, "batch_size": 4})
    probs = denoise.out_of_fold_probs(
        np.zeros((135, 16, 16, 3), np.uint8), positions, labels, folds,
        val_positions=val_positions, val_labels=np.arange(5) % 3, num_classes=3, params=settings,
        checkpoint_root=tmp_path, pixel_digests=digests,
    )  # fmt: skip
    assert [fit["seed"] for fit in fits] == [7, 8, 9]
    for fold, fit in enumerate(fits):
        np.testing.assert_array_equal(fit["train"], positions[folds != fold])
        np.testing.assert_array_equal(fit["val_positions"], val_positions)
        assert fit["checkpoint_dir"] == Path(tmp_path) / f"fold{fold}"
        assert fit["pixel_digests"] is digests
        assert fit["name"] == f"denoising fold {fold + 1}/3"
    np.testing.assert_array_equal(probs.argmax(axis=1), folds)


def test_fusion_is_the_renormalised_product_with_a_floor():
    text = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype=np.float32)
    image = np.array([[0.5, 0.25, 0.25], [0.5, 0.5, 0.0]], dtype=np.float32)
    fused = fuse_probabilities(text, image)
    # Row 0: products 0.25, 0.125, 0 → floor 1e-6 → / 0.375001.
    np.testing.assert_allclose(fused[0], [0.25, 0.125, 1e-6] / np.float32(0.375001), rtol=1e-6)
    # Row 1: products 0.1, 0.15, 0 → 0.4, 0.6 and a floored trace.
    np.testing.assert_allclose(fused[1], [0.4, 0.6, 4e-6], rtol=1e-5)
    np.testing.assert_allclose(fused.sum(axis=1), 1.0, rtol=1e-6)
    assert fused.dtype == np.float32
    # Symmetric, and one array alone is only floored and renormalised.
    np.testing.assert_array_equal(fuse_probabilities(image, text), fused)
    np.testing.assert_allclose(fuse_probabilities(image), image, atol=1e-6)
    assert (fuse_probabilities(text) > 0).all()
    np.testing.assert_allclose(
        fuse_probabilities(np.zeros((1, 4))), [[0.25, 0.25, 0.25, 0.25]], rtol=1e-12
    )
    with pytest.raises(ValueError, match="one shape"):
        fuse_probabilities(text, image[:, :2])
    with pytest.raises(ValueError, match="at least one"):
        fuse_probabilities()


def test_a_label_both_models_doubt_is_the_least_likely_once_fused():
    """Row 0 (label 0) is doubted mildly by both models; row 1 (label 1) strongly by the text
    alone, row 2 (label 2) strongly by the image alone. Each model alone finds row 1 or 2 the
    least likely; fused, row 0 is (its given label's probability is the lowest)."""
    labels = np.array([0, 1, 2])
    text = np.array([[0.3, 0.6, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    image = np.array([[0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.7, 0.1, 0.2]])
    rows = np.arange(3)
    assert text[rows, labels].argmin() == 1 and image[rows, labels].argmin() == 2
    fused = fuse_probabilities(text, image)
    np.testing.assert_allclose(fused[0], [0.09, 0.36, 0.01] / np.float64(0.46))
    assert fused[rows, labels].argmin() == 0


def test_denoising_folds_are_the_stratified_folds_of_the_denoising_block():
    labels = np.arange(40) % 4
    settings = params("denoising", folds=4, seed=3)
    folds = denoising_folds(labels, settings, CODES)
    np.testing.assert_array_equal(folds, assign_folds(labels, 4, 3))
    assert sorted(np.bincount(folds)) == [10, 10, 10, 10]
    assert not np.array_equal(folds, denoising_folds(labels, params("denoising", seed=4)))
