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


def test_a_prior_offset_moves_the_decisions_not_the_training():
    offset = torch.tensor([0.0, -2.0, 0.0, 0.0])
    torch.manual_seed(0)
    corrected = DecisionFusionNet(8, 4, 3, residual=True, prior_offset=offset)
    torch.manual_seed(0)
    plain = DecisionFusionNet(8, 4, 3, residual=True)
    plain.load_state_dict({k: v for k, v in corrected.state_dict().items() if k != "prior_offset"})
    inputs = torch.softmax(torch.randn(5, 8), dim=1)
    # Training fits the plain logits; decisions (eval mode) subtract the offset: class 1 gains 2.
    assert torch.equal(corrected.train()(inputs), plain.train()(inputs))
    assert torch.allclose(corrected.eval()(inputs), plain.eval()(inputs) - offset)
    assert "prior_offset" in corrected.state_dict()  # saved with the weights
    assert "prior_offset" not in plain.state_dict()  # a network without one saves as before
    with pytest.raises(ValueError, match="prior_offset must hold 4 finite values"):
        DecisionFusionNet(8, 4, prior_offset=[0.0, float("-inf"), 0.0, 0.0])
    with pytest.raises(ValueError, match="got shape \\(3,\\)"):
        DecisionFusionNet(8, 4, prior_offset=[0.0, 0.0, 0.0])


def test_a_rebuilt_fold_ensemble_loads_its_saved_prior_offset():
    trained = build_decision_fold_ensemble(2, 8, 4, residual=True, prior_corrected=True)
    for member in trained.members:
        member.prior_offset.copy_(torch.tensor([0.0, -1.0, -2.0, -3.0]))
    rebuilt = build_decision_fold_ensemble(2, 8, 4, residual=True, prior_corrected=True)
    rebuilt.load_state_dict(trained.state_dict())
    inputs = torch.rand(3, 8)
    assert torch.equal(rebuilt.eval()(inputs), trained.eval()(inputs))
    without = build_decision_fold_ensemble(2, 8, 4, residual=True)
    without.load_state_dict({k: v for k, v in trained.state_dict().items() if "offset" not in k})
    assert torch.allclose(rebuilt(inputs), without.eval()(inputs) - torch.arange(4.0) * -1.0)
