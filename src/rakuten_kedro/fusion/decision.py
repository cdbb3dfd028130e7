"""Decision-level fusion: a small network over the modalities' class probabilities (the paper's).

Inputs are the 27 text + 27 image probabilities of each validation product (54 values); the
network is ``DecisionFusionNet`` (1 layer, or 2 with a hidden width of 6 in the paper), trained
out-of-fold on the validation split with Adam, lr 0.01, 40 epochs, keeping each fold's
best-macro-F1 epoch; the K fold networks vote on the test rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rakuten_kedro.config import FusionNetwork, FusionTraining, parses_params
from rakuten_kedro.fusion.fold_networks import make_torch_train_fold
from rakuten_kedro.models.fusion import DecisionFusionNet, FoldEnsemble
from rakuten_kedro.training.cross_validation import CrossValidationResult, cross_validate


def stack_probabilities(probs: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenates the modalities' ``(N, C)`` probabilities into the ``(N, C × M)`` input.

    Args:
        probs: One ``(N, C)`` array per modality (text first, then image), rows aligned.

    Returns:
        ``(N, C × M)`` float32.
    """
    if len({array.shape[0] for array in probs}) != 1:
        raise ValueError(f"modalities have different row counts: {[a.shape for a in probs]}")
    return np.concatenate([np.asarray(array, dtype=np.float32) for array in probs], axis=1)


@parses_params
def cross_validate_decision_fusion(
    inputs: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    num_classes: int,
    network: FusionNetwork,
    training: FusionTraining,
    epoch_selection: str,
    test_inputs: np.ndarray | None = None,
    name: str = "decision_fusion",
    checkpoint_dir: str | Path | None = None,
) -> CrossValidationResult:
    """Trains the K fold networks of a decision-level fusion and predicts out-of-fold.

    Args:
        inputs: ``(N, 54)`` stacked probabilities of the validation rows.
        labels: ``(N,)`` their labels.
        folds: ``(N,)`` fold of every row.
        num_classes: Output classes (27).
        network: The network (``hidden`` 0: one layer; ``residual``: learn a correction on top
            of the product-of-experts fusion, see ``DecisionFusionNet``).
        training: Epochs, Adam settings, batch size, seed, device of the fold networks.
        epoch_selection: ``"inner"`` or ``"held_out"`` (see ``training.folds.fold_splits``).
        test_inputs: ``(N_test, 54)`` stacked probabilities of test rows, predicted by every
            fold network (``None``: none).
        name: Label for logs and progress bars.
        checkpoint_dir: Where the fold networks are kept for reuse (``None``: never kept).

    Returns:
        The ``CrossValidationResult`` (out-of-fold probabilities, fold test probabilities,
        fold networks).
    """
    num_inputs = inputs.shape[1]
    train_fold = make_torch_train_fold(
        lambda _train_inputs: DecisionFusionNet(
            num_inputs, num_classes, network.hidden, network.residual
        ),
        ("inputs",),
        training=training,
        name=name,
        checkpoint_dir=checkpoint_dir,
    )
    return cross_validate(
        [inputs],
        labels,
        folds,
        train_fold,
        num_classes=num_classes,
        test_inputs=None if test_inputs is None else [test_inputs],
        epoch_selection=epoch_selection,
        desc=name,
    )


def fold_ensemble(result: CrossValidationResult) -> FoldEnsemble:
    """The fold networks of a torch cross-validation, as one module (for saving / predicting).

    Args:
        result: A result of ``cross_validate_decision_fusion``.

    Returns:
        A ``FoldEnsemble`` whose forward gives ``(K, batch, C)`` logits.
    """
    return FoldEnsemble([fold_model.model for fold_model in result.models])
