"""The one metrics function every model variant reports with.

Macro-F1 is the SIGIR ranking metric, weighted-F1 the ChallengeData one (docs/method.md §1);
both are computed over *all* classes, so a class that is absent from a small split still counts
(as 0) instead of silently inflating the average.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def _as_labels(values: Sequence[int] | np.ndarray, name: str, num_classes: int) -> np.ndarray:
    labels = np.asarray(values)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of label indices, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} holds label indices outside 0..{num_classes - 1} "
            f"(min {labels.min()}, max {labels.max()}); pass indices into `codes`, not codes"
        )
    return labels.astype(np.int64)


def macro_f1(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
             num_classes: int) -> float:  # fmt: skip
    """Macro-F1 over the labels ``0..num_classes-1`` (absent classes count as 0).

    Args:
        y_true: True label indices.
        y_pred: Predicted label indices.
        num_classes: Number of classes.

    Returns:
        The macro-averaged F1 score in [0, 1].
    """
    y_true = _as_labels(y_true, "y_true", num_classes)
    y_pred = _as_labels(y_pred, "y_pred", num_classes)
    return float(
        f1_score(y_true, y_pred, labels=np.arange(num_classes), average="macro", zero_division=0)
    )


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    codes: Sequence[int],
) -> dict:
    """Scores predictions the way the challenge does, over every class in ``codes``.

    Args:
        y_true: True label indices (index ``i`` means ``codes[i]``).
        y_pred: Predicted label indices, same length as ``y_true``.
        codes: The product type codes in label order (``label_encoding["codes"]``).

    Returns:
        ``{"macro_f1", "weighted_f1", "accuracy", "per_class_f1": {str(code): f1}}``, plain
        floats, ready for a JSON dataset.
    """
    num_classes = len(codes)
    y_true = _as_labels(y_true, "y_true", num_classes)
    y_pred = _as_labels(y_pred, "y_pred", num_classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("cannot score an empty set of predictions")
    labels = np.arange(num_classes)
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "macro_f1": float(np.mean(per_class)),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        ),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class_f1": {str(code): float(f1) for code, f1 in zip(codes, per_class, strict=True)},
    }


def log_class_prior(labels: Sequence[int] | np.ndarray, num_classes: int) -> np.ndarray:
    """``log π``: the log class frequency of ``labels``, add-one smoothed so that a class
    without a row stays finite.

    Both corrections for the class imbalance use it: the fusion networks' decisions
    (``fusion.decision.prior_offset``) and the denoising margin
    (``vision.denoise.prior_corrected_margin``).
    """
    counts = np.bincount(_as_labels(labels, "labels", num_classes), minlength=num_classes)
    return np.log((counts + 1) / (counts.sum() + num_classes))
