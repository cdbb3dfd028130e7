"""One training loop for every network, on `accelerate`, with checkpoints and one metrics function.

See ``docs/architecture.md`` ("Training") for the contract.
"""

from rakuten_kedro.training.loop import FitResult, TrainConfig, fit, optimizer_steps, predict
from rakuten_kedro.training.metrics import classification_metrics

__all__ = [
    "FitResult",
    "TrainConfig",
    "classification_metrics",
    "fit",
    "optimizer_steps",
    "predict",
]
