"""Feature-level fusion trains out-of-fold on two feature matrices, in every mode."""

from __future__ import annotations

import numpy as np
import pytest

from rakuten_kedro.fusion.feature import cross_validate_feature_fusion
from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.training.metrics import macro_f1
from tests.params import params


@pytest.mark.parametrize("mode", ["concat", "sum", "attention"])
def test_feature_fusion_learns_from_both_feature_sets(mode):
    rng = np.random.default_rng(0)
    labels = np.arange(160) % 4
    # Text features tell {0,1} from {2,3}; image features, on another scale, {0,2} from {1,3}.
    text = rng.normal(size=(160, 8)) + 3 * rng.normal(size=8) * (labels[:, None] >= 2)
    image = (rng.normal(size=(160, 5)) + 3 * rng.normal(size=5) * (labels[:, None] % 2)) * 50
    result = cross_validate_feature_fusion(
        text.astype(np.float32), image.astype(np.float32), labels,
        assign_folds(labels, 4, seed=0), num_classes=4, mode=mode,
        settings=params("feature_fusion", proj_dim=16, hidden=16, epochs=15, lr=0.01,
                        batch_size=32),
        epoch_selection="inner",
    )  # fmt: skip
    assert result.oof_probs.shape == (160, 4) and result.test_probs is None
    assert macro_f1(labels, result.oof_probs.argmax(axis=1), 4) > 0.85  # chance: 0.25
