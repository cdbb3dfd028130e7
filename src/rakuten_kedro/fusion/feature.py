"""Feature-level fusion (the paper's baseline that lost), trained "step by step".

The unimodal models are frozen; their pooled features of the validation rows are fused by
concatenation, sum after projection, or attention (``FeatureFusionNet``) and classified. It is
trained and scored out-of-fold on the validation split with the decision fusion's folds, so the
two fusions see exactly the same rows and their scores compare directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rakuten_kedro.config import FeatureFusion, parses_params
from rakuten_kedro.fusion.fold_networks import make_torch_train_fold
from rakuten_kedro.models.fusion import FeatureFusionNet
from rakuten_kedro.training.cross_validation import CrossValidationResult, cross_validate


@parses_params
def cross_validate_feature_fusion(
    text_features: np.ndarray,
    image_features: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    num_classes: int,
    mode: str,
    settings: FeatureFusion,
    epoch_selection: str,
    checkpoint_dir: str | Path | None = None,
) -> CrossValidationResult:
    """Out-of-fold feature-level fusion on the validation rows.

    Args:
        text_features: ``(N, d_text)`` frozen text features.
        image_features: ``(N, d_image)`` frozen image features.
        labels: ``(N,)`` labels.
        folds: ``(N,)`` fold of every row.
        num_classes: Number of classes.
        mode: ``"concat"``, ``"sum"`` or ``"attention"``.
        settings: The network sizes and the training of its fold networks.
        epoch_selection: ``"inner"`` or ``"held_out"``.
        checkpoint_dir: Where the fold networks are kept for reuse (``None``: never kept).

    Returns:
        The ``CrossValidationResult`` (no test predictions: this baseline is only scored).
    """
    text_dim, image_dim = text_features.shape[1], image_features.shape[1]

    def build_model(train_inputs: list[np.ndarray]) -> FeatureFusionNet:
        net = FeatureFusionNet(
            text_dim, image_dim, num_classes, mode=mode, proj_dim=settings.proj_dim,
            hidden=settings.hidden, dropout=settings.dropout,
        )  # fmt: skip
        return net.fit_input_statistics(*(torch.as_tensor(array) for array in train_inputs))

    train_fold = make_torch_train_fold(
        build_model,
        ("text", "image"),
        training=settings,
        name=f"feature_fusion_{mode}",
        checkpoint_dir=checkpoint_dir,
    )
    return cross_validate(
        [text_features, image_features],
        labels,
        folds,
        train_fold,
        num_classes=num_classes,
        epoch_selection=epoch_selection,
        desc=f"feature_fusion_{mode}",
    )
