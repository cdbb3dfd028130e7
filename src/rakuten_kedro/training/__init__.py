"""One training loop for every network, on `accelerate`, with checkpoints and one metrics function;
one out-of-fold loop (`cross_validation`, folds from `folds`) for models scored on their own rows.

See ``docs/architecture.md`` ("Training") for the contract.
"""

from rakuten_kedro.training.loop import (
    FitResult,
    TrainConfig,
    batches_per_epoch,
    fit,
    optimizer_steps,
    predict,
    scaled_lr,
)
from rakuten_kedro.training.metrics import classification_metrics

__all__ = [
    "FitResult",
    "TrainConfig",
    "batches_per_epoch",
    "classification_metrics",
    "fit",
    "optimizer_steps",
    "predict",
    "scaled_lr",
]
