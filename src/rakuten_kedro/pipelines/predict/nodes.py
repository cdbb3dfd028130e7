"""Nodes of the predict pipeline: the trained models applied to new products, no training."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pandas as pd
import torch

from rakuten_kedro.datasets.image_cache import ImageCacheSpec
from rakuten_kedro.fingerprint import digest, model_digest
from rakuten_kedro.fusion.predict import (
    ensemble_with_text_fallback,
    fold_ensemble_predict,
    top_k_table,
)
from rakuten_kedro.pipelines.preprocessing.nodes import describe_image_cache
from rakuten_kedro.text.tfidf import tfidf_probabilities
from rakuten_kedro.text.transformer import predict_texts
from rakuten_kedro.vision.data import ImageCacheLike, cache_images, positions_of
from rakuten_kedro.vision.train import predict_image_classifier

logger = logging.getLogger(__name__)


def describe_new_photos(
    new_products: pd.DataFrame, image_cache_options: dict[str, Any]
) -> ImageCacheSpec:
    """Which photos to decode, at the training sizes; unreadable ones become placeholders.

    Args:
        new_products: The cleaned new products.
        image_cache_options: ``preprocessing.image_cache`` (``sizes``).

    Returns:
        The cache specification (``on_bad_image`` forced to ``placeholder``: a bad photo must
        never stop a prediction run; those products are answered from their text).
    """
    return describe_image_cache(
        new_products, {**image_cache_options, "on_bad_image": "placeholder"}
    )


def transformer_probs(
    text_model: Any, new_products: pd.DataFrame, training_params: dict[str, Any]
) -> tuple[np.ndarray, str]:
    """Class probabilities of a trained text transformer.

    Args:
        text_model: The variant's ``text_model``.
        new_products: The cleaned new products.
        training_params: The variant's ``training`` parameters (batch size, precision, cpu).

    Returns:
        ``(N, C)`` probabilities in table order, and the model's digest (``models`` column).
    """
    probs, _ = predict_texts(
        text_model,
        new_products,
        batch_size=int(training_params.get("eval_batch_size", 64)),
        mixed_precision=str(training_params.get("mixed_precision", "auto")),
        cpu=bool(training_params.get("cpu", False)),
        progress=bool(training_params.get("progress", True)),
    )
    return probs, model_digest(text_model)


def tfidf_probs(
    tfidf_model: Any, new_products: pd.DataFrame, label_encoding: dict[str, Any]
) -> tuple[np.ndarray, str]:
    """Class probabilities of the trained TF-IDF model.

    Args:
        tfidf_model: The variant's fitted scikit-learn pipeline.
        new_products: The cleaned new products.
        label_encoding: ``{"codes": [...]}``.

    Returns:
        ``(N, C)`` probabilities in table order, and the model's digest (``models`` column).
    """
    probs = tfidf_probabilities(tfidf_model, new_products, len(label_encoding["codes"]))
    return probs, model_digest(tfidf_model)


def image_probs(  # noqa: PLR0917 - Kedro passes node inputs positionally
    image_model: torch.nn.Module,
    new_products: pd.DataFrame,
    new_image_cache: ImageCacheLike,
    stage1_params: dict[str, Any],
    stage2_params: dict[str, Any],
    augment_params: dict[str, Any],
    run_params: dict[str, Any],
) -> tuple[np.ndarray, str]:
    """Class probabilities of a trained image model, at the resolution of its last stage.

    Args:
        image_model: The variant's ``image_model``.
        new_products: The cleaned new products.
        new_image_cache: Their decoded photos.
        stage1_params: The variant's ``stage1`` parameters.
        stage2_params: The variant's ``stage2`` parameters.
        augment_params: The variant's ``augment`` parameters.
        run_params: The variant's ``run`` parameters.

    Returns:
        ``(N, C)`` probabilities in table order (placeholders' rows are ignored later), and
        the model's digest (``models`` column).
    """
    stage = stage2_params if stage2_params.get("enabled", True) else stage1_params
    probs, _ = predict_image_classifier(
        image_model,
        cache_images(new_image_cache, int(stage["cache_size"])),
        positions_of(new_image_cache, new_products["row_id"].to_numpy()),
        input_size=int(stage["input_size"]),
        augment=augment_params,
        batch_size=int(stage.get("eval_batch_size", 2 * int(stage["batch_size"]))),
        run=run_params,
        desc="image new products",
    )
    return probs, model_digest(image_model)


def member_prediction(
    fusion_model: torch.nn.Module,
    text_probs: np.ndarray,
    image_probs: np.ndarray,
    text_model_digest: str,
    image_model_digest: str,
) -> dict[str, Any]:
    """One ensemble member's fold vote and mean probabilities on the new products.

    Args:
        fusion_model: The member's saved fold networks.
        text_probs: Its text variant's ``(N, C)`` probabilities.
        image_probs: Its image variant's ``(N, C)`` probabilities.
        text_model_digest: Its text model's digest.
        image_model_digest: Its image model's digest.

    Returns:
        ``{"votes": (N,), "probs": (N, C), "models": digest of its three models}``.
    """
    votes, probs = fold_ensemble_predict(fusion_model, [text_probs, image_probs])
    models = digest(text_model_digest, image_model_digest, model_digest(fusion_model))
    return {"votes": votes, "probs": probs, "models": models}


def predict_new_products(
    new_products: pd.DataFrame,
    new_image_cache: ImageCacheLike,
    label_encoding: dict[str, Any],
    predict_params: dict[str, Any],
    text_probs: np.ndarray,
    *member_predictions: dict[str, Any],
) -> pd.DataFrame:
    """The ensemble's answer with its top-k codes; text-only where the photo is unusable.

    Args:
        new_products: The cleaned new products.
        new_image_cache: Their photos (its ``issues`` list the missing or unreadable ones).
        label_encoding: ``{"codes": [...]}``.
        predict_params: ``predict`` parameters (``input_dir``, ``top_k``,
            ``low_confidence_below``).
        text_probs: The headline text variant's probabilities (the fallback; it is the first
            member's text model, so the members' digests cover it).
        *member_predictions: Every member's ``member_prediction``.

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
    predicted, probs = ensemble_with_text_fallback(
        [member["votes"] for member in member_predictions],
        [member["probs"] for member in member_predictions],
        text_probs,
        has_photo,
    )
    table = top_k_table(
        row_ids, predicted, probs, label_encoding["codes"], int(predict_params["top_k"])
    )
    table.insert(1, "productid", new_products["productid"].to_numpy())
    table.insert(2, "imageid", new_products["imageid"].to_numpy())
    table["low_confidence"] = table["probability"] < float(predict_params["low_confidence_below"])
    table["answered_from"] = np.where(has_photo, "ensemble", "text_only")
    table["input_dir"] = os.path.abspath(predict_params["input_dir"])
    table["models"] = digest(*(member["models"] for member in member_predictions))
    return table
