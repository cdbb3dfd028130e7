"""Nodes of the predict pipeline: the trained models applied to new products, no training."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from rakuten_kedro.config import Ensemble, ImageCacheSettings, Predict, parses_params
from rakuten_kedro.datasets.image_cache import ImageCacheSpec
from rakuten_kedro.fingerprint import digest, model_digest
from rakuten_kedro.fusion.predict import ensemble_with_text_fallback, top_k_table
from rakuten_kedro.pipelines.preprocessing.nodes import describe_image_cache
from rakuten_kedro.tables import prediction_labels, probs_matrix, probs_table
from rakuten_kedro.vision.data import ImageCacheLike

logger = logging.getLogger(__name__)


@parses_params
def describe_new_photos(
    new_products: pd.DataFrame, image_cache_options: ImageCacheSettings
) -> ImageCacheSpec:
    """Which photos to decode, at the training sizes; unreadable ones become placeholders.

    Args:
        new_products: The cleaned new products.
        image_cache_options: The ``preprocessing.image_cache`` block (``sizes``).

    Returns:
        The cache specification (``on_bad_image`` forced to ``placeholder``: a bad photo must
        never stop a prediction run; those products are answered from their text).
    """
    return describe_image_cache(
        new_products, image_cache_options.model_copy(update={"on_bad_image": "placeholder"})
    )


def describe_models(*models: Any) -> str:
    """One digest of every model the predictions come from (text, image, fusion), so that
    ``predictions.csv`` says which trained models made it.

    Args:
        *models: The models, loaded from the catalog.

    Returns:
        32 hex digits.
    """
    return digest(*(model_digest(model) for model in models))


def mean_text_probs(
    new_products: pd.DataFrame, label_encoding: dict[str, Any], *text_tables: pd.DataFrame
) -> pd.DataFrame:
    """The text-only answer's probabilities: the mean over every text variant the members use,
    as the members themselves draw on all of them (no one variant stands for the text).

    Args:
        new_products: The cleaned new products (the rows, in order).
        label_encoding: ``{"codes": [...]}``.
        *text_tables: Each used text variant's ``new_probs`` table.

    Returns:
        A probability table (``row_id`` + one column per code) of the new products.
    """
    codes = list(label_encoding["codes"])
    row_ids = new_products["row_id"].to_numpy(dtype=np.int64)
    probs = [probs_matrix(table, codes, row_ids, "text probs") for table in text_tables]
    return probs_table(row_ids, np.mean(probs, axis=0), codes)


@parses_params
def predict_new_products(  # noqa: PLR0917 - Kedro passes node inputs positionally
    new_products: pd.DataFrame,
    new_image_cache: ImageCacheLike,
    label_encoding: dict[str, Any],
    predict_params: Predict,
    ensemble: Ensemble,
    models: str,
    text_probs: pd.DataFrame,
    *member_tables: pd.DataFrame,
) -> pd.DataFrame:
    """The ensemble's answer with its top-k codes; text-only where the photo is unusable.

    Args:
        new_products: The cleaned new products.
        new_image_cache: Their photos (its ``issues`` list the missing or unreadable ones).
        label_encoding: ``{"codes": [...]}``.
        predict_params: ``predict`` parameters (``input_dir``, ``top_k``,
            ``low_confidence_below``).
        ensemble: ``ensemble`` parameters (``rule``: the members vote as in training).
        models: :func:`describe_models` of every model used.
        text_probs: The text-only answer's probabilities (:func:`mean_text_probs`), for the
            products whose photo is unusable.
        *member_tables: For each member in turn, its ``new_predictions`` then its
            ``new_probs`` (the fold networks' vote and mean probabilities).

    Returns:
        ``row_id, productid, imageid, prdtypecode, category, probability``, the runners-up
        (``top2_prdtypecode, top2_category, top2_probability``, …), ``low_confidence``,
        ``answered_from`` (``ensemble`` or ``text_only``), ``input_dir`` (absolute) and
        ``models`` (a digest of every model used), in table order.
    """
    row_ids = new_products["row_id"].to_numpy(dtype=np.int64)
    bad = (
        set(new_image_cache.issues["row_id"].astype("int64"))
        if len(new_image_cache.issues)
        else set()
    )
    has_photo = ~np.isin(row_ids, list(bad))
    if not has_photo.all():
        logger.warning(
            "%d of %d new products have a missing or unreadable photo (e.g. row_id %s): "
            "they are classified from their text only",
            int((~has_photo).sum()),
            len(row_ids),
            row_ids[~has_photo][:5].tolist(),
        )
    codes = list(label_encoding["codes"])
    pairs = list(zip(member_tables[::2], member_tables[1::2], strict=True))
    predicted, probs = ensemble_with_text_fallback(
        ensemble.rule,
        [prediction_labels(votes, row_ids, "member votes") for votes, _ in pairs],
        [probs_matrix(member_probs, codes, row_ids, "member probs") for _, member_probs in pairs],
        probs_matrix(text_probs, codes, row_ids, "text probs"),
        has_photo,
    )
    table = top_k_table(row_ids, predicted, probs, label_encoding["codes"], predict_params.top_k)
    table.insert(1, "productid", new_products["productid"].to_numpy())
    table.insert(2, "imageid", new_products["imageid"].to_numpy())
    table["low_confidence"] = table["probability"] < predict_params.low_confidence_below
    table["answered_from"] = np.where(has_photo, "ensemble", "text_only")
    table["input_dir"] = os.path.abspath(predict_params.input_dir)
    table["models"] = models
    return table
