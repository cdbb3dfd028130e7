"""Nodes of the image_model pipeline (the work is done in ``rakuten_kedro.vision.train``)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rakuten_kedro.config import (
    DCL,
    Augment,
    ConfigError,
    ImageRun,
    ResNetModel,
    SecondStage,
    Stage,
    parses_params,
)
from rakuten_kedro.models.image import ResNetClassifier, build_image_classifier
from rakuten_kedro.tables import (
    features_table,
    keep_training_rows,
    label_codes,
    probs_matrix,
    probs_table,
    rows_in_split,
)
from rakuten_kedro.training.metrics import classification_metrics
from rakuten_kedro.vision.data import ImageCacheLike, cache_images, positions_of
from rakuten_kedro.vision.train import (
    fit_image_classifier,
    history_summary,
    predict_image_classifier,
    weights_source,
)

logger = logging.getLogger(__name__)


def _training_rows(products: pd.DataFrame, training_ids: pd.DataFrame) -> pd.DataFrame:
    return rows_in_split(keep_training_rows(products, training_ids), "train")


@parses_params
def check_image_weights(model_params: ResNetModel, *, variant: str) -> str:
    """Fail fast, before any data is loaded, when pretrained weights are not on this machine.

    Args:
        model_params: The variant's ``model`` block.
        variant: The variant (namespace) name, for the log line and the message.

    Returns:
        Where the initial weights come from (``"from scratch"`` or a file path).
    """
    source = weights_source(model_params, parameter=f"{variant}.model")
    logger.info("%s: ResNet%s initial weights: %s", variant, model_params.depth, source)
    return source


def list_training_ids(products: pd.DataFrame) -> pd.DataFrame:
    """All training products' ids (the variants trained on noisy labels use them).

    Args:
        products: Labelled products (``row_id``, ``split``).

    Returns:
        A one-column table ``row_id``.
    """
    return rows_in_split(products, "train")[["row_id"]].reset_index(drop=True)


def _fit_stage(  # noqa: PLR0917 - mirrors the node signatures that call it
    model: ResNetClassifier,
    products: pd.DataFrame,
    training_ids: pd.DataFrame,
    image_cache: ImageCacheLike,
    stage_params: Stage,
    augment_params: Augment,
    run_params: ImageRun,
    *,
    dcl: DCL | None,
    name: str,
    checkpoint_dir: Path | None,
) -> tuple[ResNetClassifier, dict[str, Any]]:
    train = _training_rows(products, training_ids)
    val = rows_in_split(products, "val")
    images = cache_images(image_cache, stage_params.cache_size)
    result = fit_image_classifier(
        model,
        images,
        positions_of(image_cache, train["row_id"]),
        train["label"].to_numpy(),
        val_positions=positions_of(image_cache, val["row_id"]),
        val_labels=val["label"].to_numpy(),
        stage=stage_params,
        augment=augment_params,
        dcl=dcl,
        run=run_params,
        name=name,
        checkpoint_dir=checkpoint_dir,
        pixel_digests=image_cache.pixel_digests(stage_params.cache_size),
    )
    summary = {"n_train": len(train), "dcl": dcl is not None, **history_summary(result)}
    return result.model.cpu().eval(), summary


@parses_params
def train_first_stage(  # noqa: PLR0917 - Kedro passes node inputs positionally
    initial_weights: str,
    products: pd.DataFrame,
    training_ids: pd.DataFrame,
    image_cache: ImageCacheLike,
    label_encoding: dict[str, Any],
    model_params: ResNetModel,
    stage_params: Stage,
    augment_params: Augment,
    run_params: ImageRun,
    checkpoints: Path,
    *,
    variant: str,
) -> tuple[ResNetClassifier, dict[str, Any]]:
    """Stage 1: train the ResNet at the low resolution with cross-entropy.

    Args:
        initial_weights: Where the initial weights come from (from ``check_image_weights``).
        products: Labelled products (``row_id``, ``label``, ``split``).
        training_ids: ``row_id`` of the training products to learn from.
        image_cache: The labelled products' image cache.
        label_encoding: ``{"codes": [...]}``.
        model_params: The variant's ``model`` block.
        stage_params: Its ``stage1`` block.
        augment_params: Its ``augment`` block.
        run_params: Its ``run`` block.
        checkpoints: The checkpoint root (stage 1 resumes from ``<variant>/stage1``).
        variant: The variant (namespace) name, for logs and checkpoints.

    Returns:
        ``(model, summary)``: the best epoch's model (on the CPU) and its training history.
    """
    torch.manual_seed(run_params.seed)  # reproducible initial weights
    model = build_image_classifier(model_params, len(label_codes(label_encoding)))
    model, summary = _fit_stage(
        model,
        products,
        training_ids,
        image_cache,
        stage_params,
        augment_params,
        run_params,
        dcl=None,
        name=f"{variant} stage 1",
        checkpoint_dir=Path(checkpoints) / variant / "stage1",
    )
    return model, {"initial_weights": initial_weights, **summary}


@parses_params
def train_second_stage(  # noqa: PLR0917 - Kedro passes node inputs positionally
    stage1_model: ResNetClassifier,
    products: pd.DataFrame,
    training_ids: pd.DataFrame,
    image_cache: ImageCacheLike,
    stage_params: SecondStage,
    augment_params: Augment,
    run_params: ImageRun,
    checkpoints: Path,
    *,
    variant: str,
    dcl: bool,
) -> tuple[ResNetClassifier, dict[str, Any]]:
    """Stage 2: reload stage 1 and fine-tune at the high resolution, with DCL or plainly.

    Args:
        stage1_model: The stage 1 model (not modified).
        products: Labelled products.
        training_ids: ``row_id`` of the training products to learn from.
        image_cache: The labelled products' image cache.
        stage_params: The variant's ``stage2`` block (``enabled: false`` keeps the stage 1
            model; ``dcl`` holds the DCL settings).
        augment_params: Its ``augment`` block.
        run_params: Its ``run`` block.
        checkpoints: The checkpoint root (stage 2 resumes from ``<variant>/stage2``).
        variant: The variant (namespace) name.
        dcl: Fine-tune with DCL (the grid's choice for this variant), else plainly.

    Returns:
        ``(model, summary)``.
    """
    if not stage_params.enabled:
        return stage1_model, {"skipped": True}
    if dcl and stage_params.dcl is None:
        raise ConfigError(
            f"parameters {variant}.stage2: the grid turns DCL on for {variant}, so its stage2 "
            "block needs a dcl block (grid, window, head_lr_multiplier, loss_weights)"
        )
    model = copy.deepcopy(stage1_model)
    if dcl:
        torch.manual_seed(run_params.seed)
        model.add_dcl_heads(stage_params.dcl.grid)
    return _fit_stage(
        model,
        products,
        training_ids,
        image_cache,
        stage_params,
        augment_params,
        run_params,
        dcl=stage_params.dcl if dcl else None,
        name=f"{variant} stage 2" + (" (DCL)" if dcl else ""),
        checkpoint_dir=Path(checkpoints) / variant / "stage2",
    )


@parses_params
def predict_image_model(  # noqa: PLR0917 - Kedro passes node inputs positionally
    image_model: ResNetClassifier,
    rows: pd.DataFrame,
    image_cache: ImageCacheLike,
    label_encoding: dict[str, Any],
    stage1_params: Stage,
    stage2_params: SecondStage,
    augment_params: Augment,
    run_params: ImageRun,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Class probabilities and pooled features of ``rows`` (validation, test or new products).

    Predictions use the resolution of the last stage that ran (centre crop, class head).

    Args:
        image_model: The trained classifier.
        rows: Products with ``row_id``, in the order of the output.
        image_cache: The cache holding their photos.
        label_encoding: ``{"codes": [...]}``.
        stage1_params: The variant's ``stage1`` block.
        stage2_params: Its ``stage2`` block.
        augment_params: Its ``augment`` block.
        run_params: Its ``run`` block.

    Returns:
        ``(probs, features)`` tables with ``row_id``.
    """
    stage = stage2_params if stage2_params.enabled else stage1_params
    probs, features = predict_image_classifier(
        image_model,
        cache_images(image_cache, stage.cache_size),
        positions_of(image_cache, rows["row_id"]),
        stage=stage,
        augment=augment_params,
        run=run_params,
        desc="image predict",
    )
    row_ids = rows["row_id"].to_numpy()
    codes = label_codes(label_encoding)
    return probs_table(row_ids, probs, codes), features_table(row_ids, features)


def score_image_model(
    val_probs: pd.DataFrame,
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
    stage1_summary: dict[str, Any],
    stage2_summary: dict[str, Any],
) -> dict[str, Any]:
    """Validation metrics of the image model, with both stages' training histories.

    Args:
        val_probs: ``row_id`` + one probability column per code.
        products: Labelled products (``row_id``, ``label``, ``split``).
        label_encoding: ``{"codes": [...]}``.
        stage1_summary: Stage 1 history (best epoch, per-epoch loss and macro-F1, seconds).
        stage2_summary: Stage 2 history.

    Returns:
        ``classification_metrics`` (``macro_f1``, ``weighted_f1``, ``accuracy``,
        ``per_class_f1``) plus ``training: {stage1, stage2}``.
    """
    codes = label_codes(label_encoding)
    val = rows_in_split(products, "val")
    probs = probs_matrix(val_probs, codes, val["row_id"].to_numpy(), name="val_probs")
    metrics = classification_metrics(val["label"].to_numpy(), probs.argmax(1), codes)
    logger.info(
        "image model validation macro-F1 %.4f, weighted-F1 %.4f, accuracy %.4f",
        metrics["macro_f1"],
        metrics["weighted_f1"],
        metrics["accuracy"],
    )
    return {**metrics, "training": {"stage1": stage1_summary, "stage2": stage2_summary}}
