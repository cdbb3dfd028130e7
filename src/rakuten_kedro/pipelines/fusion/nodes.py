"""Nodes of the fusion pipeline: thin calls into ``rakuten_kedro.fusion``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rakuten_kedro.config import (
    CrossValidation,
    FeatureFusion,
    FusionDecisions,
    FusionNetwork,
    FusionTraining,
    Stacking,
    parses_params,
)
from rakuten_kedro.datasets.torch_model import set_build_config
from rakuten_kedro.fusion.decision import (
    cross_validate_decision_fusion,
    fold_ensemble,
    prior_offset,
    stack_probabilities,
)
from rakuten_kedro.fusion.feature import cross_validate_feature_fusion
from rakuten_kedro.fusion.predict import fold_ensemble_predict
from rakuten_kedro.fusion.stacking import cross_validate_stacking
from rakuten_kedro.fusion.vote import vote_from_probs
from rakuten_kedro.tables import (
    features_matrix,
    predictions_table,
    probs_matrix,
    probs_table,
    rows_in_split,
    validation_rows,
)
from rakuten_kedro.training.cross_validation import CrossValidationResult
from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.training.metrics import classification_metrics


@parses_params
def assign_fusion_folds(products: pd.DataFrame, cross_validation: CrossValidation) -> pd.DataFrame:
    """Assigns every validation product to a fold, stratified by label; all fusions share them.

    Args:
        products: The ``products`` table.
        cross_validation: ``fusion.cross_validation`` parameters (``n_folds``, ``seed``).

    Returns:
        ``row_id``, ``fold`` for the validation rows, in table order.
    """
    row_ids, labels = validation_rows(products)
    folds = assign_folds(
        labels,
        cross_validation.n_folds,
        cross_validation.seed,
        rows="validation rows",
        setting="fusion.cross_validation.n_folds",
    )
    return pd.DataFrame({"row_id": row_ids, "fold": folds})


def _folds_for(fusion_folds: pd.DataFrame, row_ids: np.ndarray) -> np.ndarray:
    folds = fusion_folds.set_index("row_id")["fold"].reindex(row_ids)
    if folds.isna().any():
        missing = row_ids[folds.isna().to_numpy()][:5]
        raise ValueError(f"fusion_folds: no fold for validation row_id {missing.tolist()}")
    return folds.to_numpy(dtype=np.int64)


def stack_fusion_inputs(  # noqa: PLR0917 - Kedro passes node inputs positionally
    text_val_probs: pd.DataFrame,
    image_val_probs: pd.DataFrame,
    text_test_probs: pd.DataFrame,
    image_test_probs: pd.DataFrame,
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
) -> dict[str, Any]:
    """Puts the text and image probabilities side by side (54 values per product).

    Validation rows follow ``products``; test rows follow the text test table, the image test
    table is aligned to it by ``row_id``.

    Args:
        text_val_probs: ``{text}.val_probs``.
        image_val_probs: ``{image}.val_probs``.
        text_test_probs: ``{text}.test_probs``.
        image_test_probs: ``{image}.test_probs``.
        products: The ``products`` table (validation rows and labels).
        label_encoding: ``{"codes": [...]}``.

    Returns:
        ``{"codes", "train_labels", "val_row_ids", "val_labels", "val_inputs", "test_row_ids",
        "test_inputs"}`` (``train_labels``: the training split's, for the class prior).
    """
    codes = list(label_encoding["codes"])
    val_row_ids, val_labels = validation_rows(products)
    test_row_ids = text_test_probs["row_id"].to_numpy(dtype=np.int64)
    return {
        "codes": codes,
        "train_labels": rows_in_split(products, "train")["label"].to_numpy(dtype=np.int64),
        "val_row_ids": val_row_ids,
        "val_labels": val_labels,
        "val_inputs": stack_probabilities(
            [
                probs_matrix(text_val_probs, codes, val_row_ids, "text val_probs"),
                probs_matrix(image_val_probs, codes, val_row_ids, "image val_probs"),
            ]
        ),
        "test_row_ids": test_row_ids,
        "test_inputs": stack_probabilities(
            [
                probs_matrix(text_test_probs, codes, test_row_ids, "text test_probs"),
                probs_matrix(image_test_probs, codes, test_row_ids, "image test_probs"),
            ]
        ),
    }


def _scored(
    result: CrossValidationResult, fusion_inputs: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Out-of-fold val probabilities and their metrics."""
    codes = fusion_inputs["codes"]
    metrics = classification_metrics(
        fusion_inputs["val_labels"], result.oof_probs.argmax(axis=1), codes
    )
    metrics.update(
        {
            "scored": "out-of-fold on the validation split",
            "n_rows": len(fusion_inputs["val_labels"]),
            "n_folds": len(result.models),
            "fold_best_epochs": result.best_epochs,
            "fold_selection_macro_f1": result.fold_scores,
        }
    )
    return probs_table(fusion_inputs["val_row_ids"], result.oof_probs, codes), metrics


@parses_params
def train_decision_fusion(  # noqa: PLR0917 - Kedro passes node inputs positionally
    fusion_inputs: dict[str, Any],
    fusion_folds: pd.DataFrame,
    network: FusionNetwork,
    cross_validation: CrossValidation,
    training: FusionTraining,
    decisions: FusionDecisions,
    checkpoints: Path,
    *,
    member: str,
) -> tuple[Any, pd.DataFrame, dict[str, Any]]:
    """Trains the K fold networks of one decision-level fusion; scores it out-of-fold.

    Args:
        fusion_inputs: Output of ``stack_fusion_inputs``.
        fusion_folds: ``row_id``, ``fold`` of the validation rows.
        network: One entry of ``fusion.networks`` (``hidden``: 0 = one layer; ``residual``:
            learn a correction on top of the product-of-experts fusion).
        cross_validation: ``fusion.cross_validation`` (``epoch_selection``).
        training: ``fusion.training`` (``epochs``, ``lr``, ``batch_size``, …).
        decisions: ``fusion.decisions`` (``prior_correction`` τ: the networks' decisions divide
            each class probability by its training frequency to the power τ).
        checkpoints: The checkpoint root (the fold networks are kept in ``<member>/``).
        member: The ensemble member (namespace) name.

    Returns:
        ``fusion_model`` (the K networks as one module: :func:`fuse_member` applies it to
        test or new products), ``val_probs`` (out-of-fold) and ``metrics``.
    """
    folds = _folds_for(fusion_folds, fusion_inputs["val_row_ids"])
    num_classes = len(fusion_inputs["codes"])
    correction = decisions.prior_correction
    offset = prior_offset(fusion_inputs["train_labels"], num_classes, correction)
    result = cross_validate_decision_fusion(
        fusion_inputs["val_inputs"],
        fusion_inputs["val_labels"],
        folds,
        num_classes=num_classes,
        network=network,
        training=training,
        epoch_selection=cross_validation.epoch_selection,
        name=member,
        checkpoint_dir=Path(checkpoints) / member,
        decision_offset=offset,
    )
    model = set_build_config(
        fold_ensemble(result),
        "decision_fold_ensemble",
        metadata={
            "codes": fusion_inputs["codes"],
            "fold_best_epochs": result.best_epochs,
            "prior_correction": correction,
        },
        num_folds=len(result.models),
        num_inputs=int(fusion_inputs["val_inputs"].shape[1]),
        num_classes=num_classes,
        hidden=network.hidden,
        residual=network.residual,
        prior_corrected=offset is not None,
    )
    return (model, *_scored(result, fusion_inputs))


def fuse_member(
    fusion_model: torch.nn.Module,
    text_probs: pd.DataFrame,
    image_probs: pd.DataFrame,
    label_encoding: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One member's answer for test or new products: its fold networks' mean probabilities and
    their majority vote (ties by summed probability).

    Args:
        fusion_model: The member's saved fold networks.
        text_probs: Its text variant's probabilities of the rows (their order is kept).
        image_probs: Its image variant's probabilities of the same rows (aligned by row id).
        label_encoding: ``{"codes": [...]}``.

    Returns:
        ``(probs, predictions)`` tables.
    """
    codes = list(label_encoding["codes"])
    row_ids = text_probs["row_id"].to_numpy(dtype=np.int64)
    votes, probs = fold_ensemble_predict(
        fusion_model,
        [
            probs_matrix(text_probs, codes, row_ids, "text probabilities"),
            probs_matrix(image_probs, codes, row_ids, "image probabilities"),
        ],
    )
    return probs_table(row_ids, probs, codes), predictions_table(row_ids, votes, codes)


@parses_params
def train_stacking(
    fusion_inputs: dict[str, Any],
    fusion_folds: pd.DataFrame,
    stacking: Stacking,
    cross_validation: CrossValidation,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Logistic-regression stacking over the same 54 inputs and folds as the fusion network.

    Args:
        fusion_inputs: Output of ``stack_fusion_inputs`` (the baseline member's: the first
            with a transformer text variant).
        fusion_folds: ``row_id``, ``fold`` of the validation rows.
        stacking: ``fusion.stacking`` (``c``, ``max_iter``).
        cross_validation: ``fusion.cross_validation`` (``epoch_selection``, ``seed``).

    Returns:
        ``val_probs`` (out-of-fold), ``test_probs``, ``test_predictions``, ``metrics``.
    """
    result = cross_validate_stacking(
        fusion_inputs["val_inputs"],
        fusion_inputs["val_labels"],
        _folds_for(fusion_folds, fusion_inputs["val_row_ids"]),
        num_classes=len(fusion_inputs["codes"]),
        settings=stacking,
        epoch_selection=cross_validation.epoch_selection,
        seed=cross_validation.seed,
        test_inputs=fusion_inputs["test_inputs"],
    )
    codes, test_row_ids = fusion_inputs["codes"], fusion_inputs["test_row_ids"]
    val_probs, metrics = _scored(result, fusion_inputs)
    test_probs = probs_table(test_row_ids, result.test_probs.mean(axis=0), codes)
    return (
        val_probs,
        test_probs,
        predictions_table(test_row_ids, vote_from_probs(result.test_probs), codes),
        metrics,
    )


@parses_params
def train_feature_fusion(  # noqa: PLR0917 - Kedro passes node inputs positionally
    text_val_features: pd.DataFrame,
    image_val_features: pd.DataFrame,
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
    fusion_folds: pd.DataFrame,
    feature_fusion: FeatureFusion,
    cross_validation: CrossValidation,
    checkpoints: Path,
    mode: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Feature-level fusion (one mode) on frozen features, scored out-of-fold on validation.

    Args:
        text_val_features: ``{text}.val_features``.
        image_val_features: ``{image}.val_features``.
        products: The ``products`` table.
        label_encoding: ``{"codes": [...]}``.
        fusion_folds: ``row_id``, ``fold`` (the decision fusion's folds).
        feature_fusion: ``feature_fusion`` parameters (network and training settings).
        cross_validation: ``fusion.cross_validation`` (``epoch_selection``).
        checkpoints: The checkpoint root (the fold networks are kept in
            ``feature_fusion_<mode>/``).
        mode: ``"concat"``, ``"sum"`` or ``"attention"``.

    Returns:
        ``val_probs`` (out-of-fold) and ``metrics``.
    """
    codes = list(label_encoding["codes"])
    row_ids, labels = validation_rows(products)
    result = cross_validate_feature_fusion(
        features_matrix(text_val_features, row_ids, "text val_features"),
        features_matrix(image_val_features, row_ids, "image val_features"),
        labels,
        _folds_for(fusion_folds, row_ids),
        num_classes=len(codes),
        mode=mode,
        settings=feature_fusion,
        epoch_selection=cross_validation.epoch_selection,
        checkpoint_dir=Path(checkpoints) / f"feature_fusion_{mode}",
    )
    metrics = classification_metrics(labels, result.oof_probs.argmax(axis=1), codes)
    metrics.update(
        {
            "scored": "out-of-fold on the validation split",
            "mode": mode,
            "fold_best_epochs": result.best_epochs,
        }
    )
    return probs_table(row_ids, result.oof_probs, codes), metrics
