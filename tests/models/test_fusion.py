"""Fusion networks: shapes, sizes, attention weights."""

from __future__ import annotations

import pytest
import torch

from rakuten_kedro.models.fusion import (
    DecisionFusionNet,
    FeatureFusionNet,
    build_decision_fold_ensemble,
)


def _size(module):
    return sum(p.numel() for p in module.parameters())


def test_decision_fusion_nets_have_the_papers_shapes():
    one, two = DecisionFusionNet(54, 27, 0), DecisionFusionNet(54, 27, 6)
    assert _size(one) == 54 * 27 + 27
    assert _size(two) == 54 * 6 + 6 + 6 * 27 + 27
    assert two(torch.rand(5, 54)).shape == (5, 27)
    with pytest.raises(ValueError, match="hidden must be >= 0"):
        DecisionFusionNet(hidden=-1)


@pytest.mark.parametrize("hidden", [0, 6])
def test_residual_decision_fusion_starts_from_the_product_of_experts(hidden):
    net = DecisionFusionNet(54, 27, hidden, residual=True)
    probs = torch.softmax(torch.randn(2, 4, 27), dim=-1)  # 4 rows, two modalities
    inputs = torch.cat([probs[0], probs[1]], dim=1)
    expected = torch.log(probs[0]) + torch.log(probs[1])
    assert torch.allclose(net(inputs), expected, atol=1e-5)
    assert _size(net) == _size(DecisionFusionNet(54, 27, hidden))
    with pytest.raises(ValueError, match="multiple of num_classes"):
        DecisionFusionNet(50, 27)


@pytest.mark.parametrize("mode", ["concat", "sum", "attention"])
def test_feature_fusion_net_modes(mode):
    net = FeatureFusionNet(12, 20, 27, mode=mode, proj_dim=8, hidden=16)
    text, image = torch.randn(4, 12), torch.randn(4, 20)
    assert net(text, image).shape == (4, 27)
    fused, weights = net.fuse(text, image)
    assert fused.shape == (4, 32 if mode == "concat" else 8)
    if mode == "attention":
        assert torch.allclose(weights.sum(dim=1), torch.ones(4))
    else:
        assert weights is None


def test_feature_fusion_net_rejects_unknown_modes():
    with pytest.raises(ValueError, match="unknown feature fusion mode 'product'"):
        FeatureFusionNet(4, 4, mode="product")


def test_fold_ensemble_stacks_every_fold():
    ensemble = build_decision_fold_ensemble(
        num_folds=3, num_inputs=54, num_classes=27, hidden=6, residual=True
    )
    assert ensemble(torch.rand(2, 54)).shape == (3, 2, 27)
