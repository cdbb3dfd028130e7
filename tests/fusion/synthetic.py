"""Synthetic probability tables where each modality confuses a different pair of classes.

Text cannot tell class 0 from 1 (nor 5 from 6), image cannot tell 1 from 2, 3 from 4, 6 from 7:
each alone is wrong on about half of those rows, but together they identify every class.
"""

from __future__ import annotations

import numpy as np

TEXT_CONFUSED = {0: 1, 1: 0, 5: 6, 6: 5}
IMAGE_CONFUSED = {1: 2, 2: 1, 3: 4, 4: 3, 6: 7, 7: 6}


def confused_probs(
    labels: np.ndarray, confused: dict[int, int], num_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """Probabilities peaked on the true class, or split evenly with its confused partner."""
    probs = rng.dirichlet(np.ones(num_classes), size=len(labels)) * 0.3
    for row, label in enumerate(labels):
        if label in confused and confused[label] < num_classes:
            # Near-equal mass on both: which one wins the argmax is a coin flip.
            probs[row, label] += 0.5 + rng.uniform(0, 0.1)
            probs[row, confused[label]] += 0.5 + rng.uniform(0, 0.1)
        else:
            probs[row, label] += 1.0
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def modality_probs(
    labels: np.ndarray, num_classes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(text_probs, image_probs)`` for ``labels``: text confuses 0/1, image 1/2 and 3/4."""
    rng = np.random.default_rng(seed)
    return (
        confused_probs(labels, TEXT_CONFUSED, num_classes, rng),
        confused_probs(labels, IMAGE_CONFUSED, num_classes, rng),
    )
