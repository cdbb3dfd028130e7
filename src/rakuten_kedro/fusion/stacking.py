"""Stacking baseline: scikit-learn logistic regression over the same 54 probabilities, same folds.

It answers "does the fusion network do better than the textbook stacker?" on equal terms: the
same inputs and folds; each fold's regression trains on the fold network's training rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from rakuten_kedro.config import Stacking, parses_params
from rakuten_kedro.training.cross_validation import CrossValidationResult, TrainFold, cross_validate


@dataclass
class LogisticFoldModel:
    """A fitted logistic regression that outputs all ``num_classes`` columns.

    A fold's training rows may lack a rare class; the regression then knows fewer classes, and
    its probabilities are spread back into the full class order with zeros for the missing.
    """

    regression: LogisticRegression
    num_classes: int
    best_epoch: int = 0
    best_score: float = float("nan")

    def predict_proba(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, num_classes)`` probabilities."""
        probs = np.zeros((len(inputs[0]), self.num_classes), dtype=np.float32)
        probs[:, self.regression.classes_] = self.regression.predict_proba(inputs[0])
        return probs


@parses_params
def make_logreg_train_fold(num_classes: int, settings: Stacking, seed: int) -> TrainFold:
    """A ``train_fold`` fitting a multinomial logistic regression on the fold's training rows.

    Args:
        num_classes: Number of classes.
        settings: ``c`` (scikit-learn's ``C``) and ``max_iter``.
        seed: Solver seed (fold ``k`` uses ``seed + k``).

    Returns:
        The ``train_fold`` callable for ``cross_validate``.
    """

    def train_fold(
        train_inputs: Sequence[np.ndarray],
        train_labels: np.ndarray,
        select_inputs: Sequence[np.ndarray],
        select_labels: np.ndarray,
        fold: int,
    ) -> LogisticFoldModel:
        regression = LogisticRegression(
            C=settings.c, max_iter=settings.max_iter, random_state=seed + fold
        )
        regression.fit(train_inputs[0], train_labels)
        return LogisticFoldModel(regression, num_classes)

    return train_fold


@parses_params
def cross_validate_stacking(
    inputs: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    num_classes: int,
    settings: Stacking,
    epoch_selection: str,
    seed: int,
    test_inputs: np.ndarray | None = None,
) -> CrossValidationResult:
    """Out-of-fold logistic-regression stacking over the stacked probabilities.

    Args:
        inputs: ``(N, 54)`` stacked probabilities.
        labels: ``(N,)`` labels.
        folds: ``(N,)`` fold of every row (the decision fusion's folds).
        num_classes: Number of classes.
        settings: The regression's regularisation and solver iterations.
        epoch_selection: Same value as the decision fusion, so both train on the same rows.
        seed: Solver seed (fold ``k`` uses ``seed + k``).
        test_inputs: ``(N_test, 54)`` for the fold vote on test rows.

    Returns:
        The ``CrossValidationResult``.
    """
    return cross_validate(
        [inputs],
        labels,
        folds,
        make_logreg_train_fold(num_classes, settings, seed),
        num_classes=num_classes,
        test_inputs=None if test_inputs is None else [test_inputs],
        epoch_selection=epoch_selection,
        desc="stacking_logreg",
    )
