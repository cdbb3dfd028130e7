"""Out-of-fold training of any model: one loop for the fusions and for denoising.

``cross_validate`` is model-agnostic: it splits the rows (``folds.fold_splits``), asks a
``train_fold`` callable for one model per fold, and fills every row's out-of-fold probabilities
from the one model that never trained on it. Where each fold model picks its epoch is
``epoch_selection`` (another fold, the predicted fold, or given rows outside the folds). The
decision-level, feature-level and stacking fusions and the denoising image models differ only in
``train_fold``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from rakuten_kedro.training.folds import FoldSplit, fold_splits

logger = logging.getLogger(__name__)


class FoldModel(Protocol):
    """What ``train_fold`` returns: a trained model that gives class probabilities."""

    best_epoch: int
    best_score: float

    def predict_proba(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, C)`` class probabilities for the rows of ``inputs`` (one array per input)."""


TrainFold = Callable[
    [Sequence[np.ndarray], np.ndarray, Sequence[np.ndarray], np.ndarray, int], FoldModel
]


@dataclass
class CrossValidationResult:
    """Out-of-fold probabilities on the training rows, fold probabilities on the test rows.

    Attributes:
        oof_probs: ``(N, C)``: each row's probabilities from the fold model that never trained
            on it.
        folds: ``(N,)`` fold index of every row.
        test_probs: ``(K, N_test, C)`` every fold model's probabilities on the test rows
            (``None`` without test inputs).
        models: The K fold models.
        best_epochs: Epoch each fold model kept (0 for models without epochs).
        fold_scores: Each fold model's macro-F1 on its epoch-selection rows.
    """

    oof_probs: np.ndarray
    folds: np.ndarray
    test_probs: np.ndarray | None
    models: list[Any]
    best_epochs: list[int] = field(default_factory=list)
    fold_scores: list[float] = field(default_factory=list)


def _take(inputs: Sequence[np.ndarray], rows: np.ndarray) -> list[np.ndarray]:
    return [array[rows] for array in inputs]


def _given_selection(
    epoch_selection: str,
    select_inputs: Sequence[np.ndarray] | None,
    select_labels: np.ndarray | None,
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """The rows every fold model picks its epoch on with ``"given"``; ``None`` otherwise."""
    given = select_inputs is not None and select_labels is not None
    if (epoch_selection == "given") != given:
        raise ValueError(
            "select_inputs and select_labels are needed with epoch_selection='given' and only "
            f"with it (epoch_selection={epoch_selection!r})"
        )
    return (list(select_inputs), np.asarray(select_labels)) if given else None


def cross_validate(  # noqa: PLR0913 - the loop's options, all keyword-only
    inputs: Sequence[np.ndarray],
    labels: np.ndarray,
    folds: np.ndarray,
    train_fold: TrainFold,
    *,
    num_classes: int,
    test_inputs: Sequence[np.ndarray] | None = None,
    epoch_selection: str = "inner",
    select_inputs: Sequence[np.ndarray] | None = None,
    select_labels: np.ndarray | None = None,
    desc: str = "folds",
    progress: bool = True,
) -> CrossValidationResult:
    """Trains one model per fold and predicts every row out-of-fold.

    Args:
        inputs: One or more ``(N, …)`` arrays (e.g. the 54 probabilities, text and image
            features, or photo positions in an image cache), rows aligned with ``labels``.
        labels: ``(N,)`` label indices.
        folds: ``(N,)`` fold index of every row (``folds.assign_folds``).
        train_fold: ``train_fold(train_inputs, train_labels, select_inputs, select_labels,
            fold)`` → a fitted ``FoldModel``.
        num_classes: Number of classes ``C``.
        test_inputs: The same arrays for the test rows, predicted by every fold model.
        epoch_selection: ``"inner"``, ``"held_out"`` or ``"given"`` (see
            ``folds.fold_splits``).
        select_inputs: With ``"given"``: the arrays of the rows every fold model picks its
            epoch on (e.g. the validation split); ``select_labels``: their labels.
        select_labels: See ``select_inputs``.
        desc: Progress bar label.
        progress: Show a progress bar over the folds (only on a terminal).

    Returns:
        A ``CrossValidationResult``.
    """
    labels = np.asarray(labels)
    if any(len(array) != len(labels) for array in inputs):
        raise ValueError(
            f"inputs have {[len(a) for a in inputs]} rows but labels have {len(labels)}"
        )
    given = _given_selection(epoch_selection, select_inputs, select_labels)
    oof = np.full((len(labels), num_classes), np.nan, dtype=np.float32)
    test_probs, models, best_epochs, scores = [], [], [], []
    splits: list[FoldSplit] = fold_splits(folds, epoch_selection)
    for split in tqdm(splits, desc=desc, leave=False, disable=None if progress else True):
        select = given or (_take(inputs, split.select), labels[split.select])
        model = train_fold(_take(inputs, split.train), labels[split.train], *select, split.fold)
        oof[split.predict] = model.predict_proba(_take(inputs, split.predict))
        if test_inputs is not None:
            test_probs.append(model.predict_proba(test_inputs))
        models.append(model)
        best_epochs.append(int(model.best_epoch))
        scores.append(float(model.best_score))
    reused = sum(bool(getattr(model, "reused", False)) for model in models)
    if reused:
        logger.info("%s: %d of %d fold models reused (same inputs and settings)", desc, reused,
                    len(models))  # fmt: skip
    return CrossValidationResult(
        oof_probs=oof,
        folds=np.asarray(folds),
        test_probs=np.stack(test_probs) if test_inputs is not None else None,
        models=models,
        best_epochs=best_epochs,
        fold_scores=scores,
    )
