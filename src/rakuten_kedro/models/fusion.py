"""Fusion networks: decision-level (over class probabilities) and feature-level (over features).

Decision-level fusion (the paper's winner) reads the 27 text + 27 image class probabilities of a
product and outputs 27 logits, with one layer (54→27) or two (54→hidden→27, hidden 6 in the
paper). Feature-level fusion (the paper's baseline that lost) combines the two unimodal feature
vectors by concatenation, sum after projection, or attention, with a small classifier on top.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

FEATURE_FUSION_MODES = ("concat", "sum", "attention")


class DecisionFusionNet(nn.Module):
    """Maps the concatenated class probabilities of the modalities to class logits.

    With ``residual=True`` the network learns a correction on top of the product-of-experts
    fusion: ``logits = Σ_m log p_m + net(x)``, its last layer starting at zero, so training
    starts from "multiply the modalities' probabilities" rather than from random weights. The
    paper's plain networks need its 8,492 validation rows to beat the text model; on a few
    hundred rows (the demo) only the residual form does.

    With a ``prior_offset`` (``τ · log π``, :func:`rakuten_kedro.fusion.decision.prior_offset`)
    the network's *decisions* (eval mode) subtract it from the logits, dividing each class
    probability by its training frequency to the power ``τ`` (post-hoc logit adjustment): a
    cross-entropy fit favours frequent classes, macro-F1 weighs every class alike. Training
    (train mode) fits the plain logits. The offset is a buffer, saved with the weights.

    Args:
        num_inputs: Input width, ``num_classes × number of modalities`` (54 for text + image).
        num_classes: Number of output classes.
        hidden: Hidden width of the 2-layer variant; ``0`` (or ``None``) gives the 1-layer
            ``Linear(num_inputs, num_classes)``.
        residual: Add the product-of-experts logits as a skip connection (see above).
        prior_offset: ``(num_classes,)`` offset subtracted from the logits in eval mode
            (``None``: none, and no buffer: the weights of a network without it load as before).
    """

    def __init__(
        self,
        num_inputs: int = 54,
        num_classes: int = 27,
        hidden: int | None = 0,
        residual: bool = False,
        prior_offset: Sequence[float] | torch.Tensor | None = None,
    ):
        super().__init__()
        self.num_inputs = num_inputs
        self.num_classes = num_classes
        self.hidden = int(hidden or 0)
        self.residual = bool(residual)
        if self.hidden < 0:
            raise ValueError(f"hidden must be >= 0 (0 = one layer), got {hidden}")
        if num_inputs % num_classes:
            raise ValueError(
                f"num_inputs ({num_inputs}) must be a multiple of num_classes ({num_classes}): "
                "one block of class probabilities per modality"
            )
        if self.hidden:
            self.layers = nn.Sequential(
                nn.Linear(num_inputs, self.hidden), nn.ReLU(), nn.Linear(self.hidden, num_classes)
            )
            last = self.layers[-1]
        else:
            self.layers = nn.Linear(num_inputs, num_classes)
            last = self.layers
        if self.residual:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.register_buffer("prior_offset", _offset(prior_offset, num_classes))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Returns ``(batch, num_classes)`` logits for ``(batch, num_inputs)`` probabilities;
        in eval mode, less the ``prior_offset`` (if any)."""
        logits = self.layers(inputs)
        if self.residual:
            blocks = inputs.reshape(len(inputs), -1, self.num_classes)
            logits = logits + torch.log(blocks.clamp_min(1e-6)).sum(dim=1)
        if self.prior_offset is not None and not self.training:
            logits = logits - self.prior_offset
        return logits


def _offset(values: Sequence[float] | torch.Tensor | None, num_classes: int) -> torch.Tensor | None:
    if values is None:
        return None
    offset = torch.as_tensor(values, dtype=torch.float32).clone()
    if offset.shape != (num_classes,) or not torch.isfinite(offset).all():
        raise ValueError(
            f"prior_offset must hold {num_classes} finite values (one per class), got shape "
            f"{tuple(offset.shape)}"
        )
    return offset


def _classifier(width: int, hidden: int, num_classes: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
    )


class Standardize(nn.Module):
    """Per-feature z-scoring with statistics fixed from the training rows (saved as buffers).

    The two backbones' features live on unrelated scales; without this the larger-scale
    modality would dominate concatenation and sum. Unlike LayerNorm it keeps each product's
    offset along every feature, and unlike BatchNorm it does not depend on the batch.

    Args:
        dim: Number of features.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> Standardize:
        """Sets the statistics from ``(N, dim)`` training features; returns ``self``."""
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0, unbiased=False).clamp_min(1e-6))
        return self

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Returns the standardised features."""
        return (features - self.mean) / self.std


class FeatureFusionNet(nn.Module):
    """Fuses a text and an image feature vector, then classifies the fused vector.

    Each modality is standardised first (``Standardize``; call ``fit_input_statistics`` on the
    training features before training).

    Args:
        text_dim: Width of the text features.
        image_dim: Width of the image features.
        num_classes: Number of output classes.
        mode: ``"concat"`` (concatenate), ``"sum"`` (project both to ``proj_dim`` and add) or
            ``"attention"`` (project both, weight them by a learned per-product attention
            score, add).
        proj_dim: Projection width for ``sum`` and ``attention``.
        hidden: Hidden width of the classifier on top.
        dropout: Dropout before the classifier.
    """

    def __init__(
        self,
        text_dim: int,
        image_dim: int,
        num_classes: int = 27,
        *,
        mode: str = "concat",
        proj_dim: int = 128,
        hidden: int = 128,
        dropout: float = 0.1,
    ):
        super().__init__()
        if mode not in FEATURE_FUSION_MODES:
            raise ValueError(
                f"unknown feature fusion mode {mode!r}; use one of {FEATURE_FUSION_MODES}"
            )
        self.mode = mode
        self.text_norm = Standardize(text_dim)
        self.image_norm = Standardize(image_dim)
        if mode == "concat":
            width = text_dim + image_dim
        else:
            self.text_proj = nn.Linear(text_dim, proj_dim)
            self.image_proj = nn.Linear(image_dim, proj_dim)
            width = proj_dim
        if mode == "attention":
            self.attention_score = nn.Linear(proj_dim, 1)
        self.classifier = _classifier(width, hidden, num_classes, dropout)

    def fit_input_statistics(self, text: torch.Tensor, image: torch.Tensor) -> FeatureFusionNet:
        """Fixes the standardisation of both inputs from the training features; returns ``self``."""
        self.text_norm.fit(text)
        self.image_norm.fit(image)
        return self

    def fuse(
        self, text: torch.Tensor, image: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Returns the fused vector and, for ``attention``, the ``(batch, 2)`` modality weights."""
        text, image = self.text_norm(text), self.image_norm(image)
        if self.mode == "concat":
            return torch.cat([text, image], dim=1), None
        text, image = self.text_proj(text), self.image_proj(image)
        if self.mode == "sum":
            return text + image, None
        tokens = torch.tanh(torch.stack([text, image], dim=1))  # (batch, 2, proj_dim)
        weights = torch.softmax(self.attention_score(tokens).squeeze(-1), dim=1)
        return (weights.unsqueeze(-1) * tokens).sum(dim=1), weights

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Returns ``(batch, num_classes)`` logits."""
        fused, _ = self.fuse(text, image)
        return self.classifier(fused)


class FoldEnsemble(nn.Module):
    """The K fold networks of a cross-validated fusion, kept together as one module.

    Saving them as one module lets a single model file hold what the test-set vote needs.

    Args:
        members: The fold networks, all with the same input and output widths.
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("a FoldEnsemble needs at least one fold network")
        self.members = nn.ModuleList(members)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Returns the stacked ``(folds, batch, num_classes)`` logits of every fold network."""
        return torch.stack([member(*inputs) for member in self.members])


def build_decision_fold_ensemble(
    num_folds: int,
    num_inputs: int = 54,
    num_classes: int = 27,
    hidden: int = 0,
    residual: bool = False,
    *,
    prior_corrected: bool = False,
) -> FoldEnsemble:
    """Rebuilds the (untrained) fold ensemble of a decision-level fusion from its config.

    Args:
        num_folds: Number of fold networks.
        num_inputs: Input width of each network.
        num_classes: Output width of each network.
        hidden: Hidden width (0 = one layer).
        residual: Whether the networks add the product-of-experts logits.
        prior_corrected: Whether they have a ``prior_offset`` buffer (its saved values are
            loaded with the weights).

    Returns:
        A ``FoldEnsemble`` of ``DecisionFusionNet``; load a state dict into it.
    """
    offset = torch.zeros(num_classes) if prior_corrected else None
    return FoldEnsemble(
        [
            DecisionFusionNet(num_inputs, num_classes, hidden, residual, offset)
            for _ in range(num_folds)
        ]
    )
