"""``CheckpointsDataset``: the folder where trainings keep their checkpoints, as a node input.

Every training (text, image stages, denoising folds, fusion folds) and every fitted helper
(tokenizer, TF-IDF) keeps its unfinished or finished state under one root, one sub-folder per
variant, so a rerun resumes or reuses it when it was made from the same settings and data.
Declaring the root in the catalog keeps every path there, and shows in kedro-viz which nodes
resume from it.

Example catalog entry::

    checkpoints:
      type: rakuten_kedro.datasets.checkpoints.CheckpointsDataset
      path: data/06_models/checkpoints
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class CheckpointsDataset(AbstractDataset[None, Path]):
    """Loads the checkpoint root folder's path (created by the trainings that write there).

    Args:
        path: The root folder.
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}

    def _exists(self) -> bool:
        return True  # an empty root is a valid state: nothing to resume yet

    def load(self) -> Path:
        return self._path

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is written by the trainings themselves, not saved")
