"""Nodes of the text_model pipeline: thin calls into ``rakuten_kedro.text``.

Each model variant runs these under its own namespace (``text_transformer``, ``text_tfidf``,
…); ``variant`` arguments are bound in ``pipeline.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline as SklearnPipeline

from rakuten_kedro.config import TextTraining, TfidfModel, TransformerModel, parses_params
from rakuten_kedro.models.text import TextClassifier
from rakuten_kedro.tables import (
    features_table,
    label_codes,
    probs_matrix,
    probs_table,
    rows_in_split,
)
from rakuten_kedro.text.pretrained import locate_pretrained
from rakuten_kedro.text.tfidf import tfidf_probabilities, train_or_reuse_tfidf
from rakuten_kedro.text.transformer import predict_texts, train_text_classifier
from rakuten_kedro.training.metrics import classification_metrics

logger = logging.getLogger(__name__)


@parses_params
def check_text_encoder(model_params: TransformerModel, *, variant: str) -> str:
    """Checks, before any data is loaded, that the pretrained weights can be found.

    Args:
        model_params: The variant's ``model`` block.
        variant: The variant (namespace) name, for the error message.

    Returns:
        ``model_name_or_path``, or ``"from scratch"``.
    """
    name = model_params.model_name_or_path
    if not name:
        return "from scratch"
    return locate_pretrained(name, parameter=f"{variant}.model.model_name_or_path")


@parses_params
def train_text_transformer(  # noqa: PLR0917 - Kedro passes node inputs positionally
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
    encoder_source: str,
    model_params: TransformerModel,
    training_params: TextTraining,
    checkpoints: Path,
    *,
    variant: str,
) -> TextClassifier:
    """Fine-tunes (or trains from scratch) the transformer classifier of one variant.

    Args:
        products: Labelled products with ``split``.
        label_encoding: ``{"codes": [...]}``.
        encoder_source: Output of :func:`check_text_encoder` (orders the check first).
        model_params: The variant's ``model`` block.
        training_params: The variant's ``training`` block.
        checkpoints: The checkpoint root (the variant resumes from its sub-folder).
        variant: The variant name (checkpoint sub-folder, logs).

    Returns:
        The model of the best validation epoch, with its tokenizer.
    """
    logger.info("%s: encoder %s", variant, encoder_source)
    model, _ = train_text_classifier(
        products,
        label_codes(label_encoding),
        model_params,
        training_params,
        checkpoint_dir=Path(checkpoints) / variant,
        name=variant,
        parameter=f"{variant}.model.model_name_or_path",
    )
    return model


@parses_params
def predict_text_transformer(
    text_model: TextClassifier, rows: pd.DataFrame, training_params: TextTraining
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Class probabilities and pooled features of ``rows`` (validation, test or new products).

    Args:
        text_model: The trained classifier.
        rows: Products with ``row_id``, ``title`` and ``description``.
        training_params: The variant's ``training`` block (batch size, precision, device).

    Returns:
        ``(probs, features)`` tables, rows in ``rows`` order.
    """
    probs, features = predict_texts(text_model, rows, training_params)
    row_ids = rows["row_id"].to_numpy()
    return probs_table(row_ids, probs, text_model.codes), features_table(row_ids, features)


def score_validation(
    val_probs: pd.DataFrame, products: pd.DataFrame, label_encoding: dict[str, Any]
) -> dict[str, Any]:
    """Scores a variant's validation probabilities against the true labels.

    Args:
        val_probs: ``row_id`` + one probability column per code.
        products: Labelled products (``row_id``, ``label``, ``split``).
        label_encoding: ``{"codes": [...]}``.

    Returns:
        :func:`~rakuten_kedro.training.metrics.classification_metrics` of the argmax.
    """
    codes = label_codes(label_encoding)
    val = rows_in_split(products, "val")
    probs = probs_matrix(val_probs, codes, val["row_id"].to_numpy(), name="val_probs")
    metrics = classification_metrics(val["label"].to_numpy(), probs.argmax(1), codes)
    logger.info(
        "validation macro-F1 %.4f, weighted-F1 %.4f, accuracy %.4f",
        metrics["macro_f1"],
        metrics["weighted_f1"],
        metrics["accuracy"],
    )
    return metrics


@parses_params
def train_tfidf(
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
    params: TfidfModel,
    checkpoints: Path,
    *,
    variant: str,
) -> SklearnPipeline:
    """Fits the TF-IDF + linear model baseline on the training rows (or reuses the model fitted
    on the same texts and labels with the same settings).

    Args:
        products: Labelled products with ``split``.
        label_encoding: ``{"codes": [...]}`` (checked, so a stale table fails here).
        params: The variant's ``model`` block.
        checkpoints: The checkpoint root (the fitted model is kept in its variant sub-folder).
        variant: The variant name.

    Returns:
        The fitted scikit-learn pipeline.
    """
    train = rows_in_split(products, "train")
    labels = train["label"].to_numpy()
    if len(train) == 0 or labels.max() >= len(label_codes(label_encoding)):
        raise ValueError("products has no training rows or labels outside label_encoding")
    return train_or_reuse_tfidf(train, params, Path(checkpoints) / variant, name=variant)


def predict_tfidf(
    tfidf_model: SklearnPipeline, rows: pd.DataFrame, label_encoding: dict[str, Any]
) -> pd.DataFrame:
    """Probabilities of the TF-IDF baseline for ``rows`` (validation, test or new products).

    Args:
        tfidf_model: The fitted pipeline.
        rows: Products with ``row_id``, ``title`` and ``description``.
        label_encoding: ``{"codes": [...]}``.

    Returns:
        The probability table, rows in ``rows`` order.
    """
    codes = label_codes(label_encoding)
    probs = tfidf_probabilities(tfidf_model, rows, len(codes))
    return probs_table(rows["row_id"].to_numpy(), probs, codes)
