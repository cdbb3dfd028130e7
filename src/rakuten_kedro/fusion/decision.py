"""Decision-level fusion: a small network over the modalities' class probabilities (the paper's).

Inputs are the 27 text + 27 image probabilities of each validation product (54 values); the
network is ``DecisionFusionNet`` (1 layer, or 2 with a hidden width of 6 in the paper), trained
out-of-fold on the validation split with Adam, lr 0.01, 40 epochs, keeping each fold's
best-macro-F1 epoch; the K fold networks vote on the test rows. With
``fusion.decisions.prior_correction`` ``τ`` > 0 (not the paper's) their decisions divide each
class probability by its training frequency to the power ``τ`` (:func:`prior_offset`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rakuten_kedro.config import FusionNetwork, FusionTraining, parses_params
from rakuten_kedro.fusion.fold_networks import make_torch_train_fold
from rakuten_kedro.models.fusion import DecisionFusionNet, FoldEnsemble
from rakuten_kedro.training.cross_validation import CrossValidationResult, cross_validate
from rakuten_kedro.training.metrics import log_class_prior


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


def prior_offset(
    train_labels: np.ndarray, num_classes: int, correction: float
) -> np.ndarray | None:
    """``τ · log π``: what the fusion networks' decisions subtract from their logits.

    ``π`` is the class frequency of the training split, add-one smoothed so that a class
    without a training row stays finite. ``τ`` = 0 keeps the cross-entropy fit's decisions
    (frequent classes favoured); 1 divides by the prior (every class alike, as macro-F1 counts
    them), the best of 0, 0.25, 0.5, 0.75 and 1 on every setting of the accuracy benchmark
    (README, Results on generated data).

    Args:
        train_labels: Label index of every training-split product.
        num_classes: Number of classes.
        correction: ``τ`` (``fusion.decisions.prior_correction``), in [0, 1].

    Returns:
        ``(num_classes,)`` float32 offset, or ``None`` for ``τ`` = 0 (no correction).
    """
    if not 0 <= correction <= 1:
        raise ValueError(f"fusion.decisions.prior_correction must be in [0, 1], got {correction}")
    if correction == 0:
        return None
    return (correction * log_class_prior(train_labels, num_classes)).astype(np.float32)


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
    decision_offset: np.ndarray | None = None,
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
        decision_offset: The networks' ``prior_offset`` (:func:`prior_offset`; ``None``: none).
            Part of their saved weights, so a kept network is reused only with the same one.

    Returns:
        The ``CrossValidationResult`` (out-of-fold probabilities, fold test probabilities,
        fold networks).
    """
    num_inputs = inputs.shape[1]
    train_fold = make_torch_train_fold(
        lambda _train_inputs: DecisionFusionNet(
            num_inputs, num_classes, network.hidden, network.residual, decision_offset
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
