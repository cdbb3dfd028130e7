"""Determinism on the CPU: the same seed and parameters give bit-identical predictions, twice in
one process (each run starts from another global RNG state, so hidden RNG use would show)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rakuten_kedro.fusion.decision import cross_validate_decision_fusion, stack_probabilities
from rakuten_kedro.pipelines.preprocessing.nodes import split_train_validation
from rakuten_kedro.text.tfidf import tfidf_probabilities, train_tfidf_classifier
from rakuten_kedro.text.transformer import predict_texts, train_text_classifier
from rakuten_kedro.training.folds import assign_folds
from tests.fusion.synthetic import modality_probs
from tests.params import params
from tests.text.products import CODES, TINY_MODEL, TINY_TRAINING, make_text_products

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _disturb_global_rngs(seed: int) -> None:
    """A different global state before each run: results must come from the run's own seeds."""
    torch.manual_seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global state is what is being disturbed


def test_train_validation_split_is_a_function_of_its_seed():
    products = make_text_products(100).drop(columns=["label", "split"])
    encoding = {"codes": CODES}
    first = split_train_validation(products, encoding, {"validation_fraction": 0.2, "seed": 5})
    _disturb_global_rngs(1)
    again = split_train_validation(products, encoding, {"validation_fraction": 0.2, "seed": 5})
    other = split_train_validation(products, encoding, {"validation_fraction": 0.2, "seed": 6})
    pd.testing.assert_frame_equal(first, again)
    assert not first["split"].equals(other["split"])


@pytest.mark.parametrize("classifier", ["sgd", "logistic_regression"])
def test_tfidf_predictions_are_identical_twice(classifier):
    products = make_text_products(150)
    train, val = products[products["split"] == "train"], products[products["split"] == "val"]
    settings = params("text_tfidf.model", min_df=1, classifier=classifier, seed=3)
    runs = []
    for disturbance in (1, 2):
        _disturb_global_rngs(disturbance)
        runs.append(tfidf_probabilities(train_tfidf_classifier(train, settings), val, len(CODES)))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_from_scratch_transformer_predictions_are_identical_twice(tmp_path):
    products = make_text_products(100)
    training = {**TINY_TRAINING, "epochs": 2}
    runs = []
    for disturbance in (1, 2):
        _disturb_global_rngs(disturbance)
        # A fresh folder each time: the from-scratch tokenizer is trained again too.
        model, result = train_text_classifier(
            products, CODES, TINY_MODEL, training, checkpoint_dir=tmp_path / f"run{disturbance}"
        )
        probs, features = predict_texts(model, products, training)
        runs.append((probs, features, [h["train_loss"] for h in result.history]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2]


def test_fusion_cross_validation_is_identical_twice():
    labels = np.arange(120) % 6
    text, image = modality_probs(labels, 6, seed=0)
    inputs = stack_probabilities([text, image])
    runs = []
    for disturbance in (1, 2):
        _disturb_global_rngs(disturbance)
        folds = assign_folds(labels, 4, seed=2020)
        result = cross_validate_decision_fusion(
            inputs, labels, folds, num_classes=6, network={"hidden": 6, "residual": True},
            training=params("fusion.training", epochs=5, batch_size=32, seed=11),
            epoch_selection="inner", test_inputs=inputs[:10],
        )  # fmt: skip
        runs.append((folds, result))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    first, second = runs[0][1], runs[1][1]
    np.testing.assert_array_equal(first.oof_probs, second.oof_probs)
    np.testing.assert_array_equal(first.test_probs, second.test_probs)
    assert first.best_epochs == second.best_epochs
