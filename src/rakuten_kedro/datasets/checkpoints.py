"""``CheckpointsDataset``: the folder where trainings keep their checkpoints, as a node input.

Every training (text, image stages, denoising folds, fusion folds) and every fitted helper
(tokenizer, TF-IDF) keeps its unfinished or finished state under one root, one sub-folder per
variant, so a rerun resumes or reuses it when it was made from the same settings and data.
Declaring the root in the catalog keeps every path there, and shows in kedro-viz which nodes
resume from it.

A finished training's checkpoint is compacted (best weights and history) and kept by default:
a rerun with the same settings and data reuses it instead of training again. With
``keep_finished: false`` (``checkpoints.keep_finished`` in ``globals.yml``) a successful run
deletes the finished ones at its end (``hooks.FinishedCheckpointsHooks``): less disk, and a
rerun trains again. Unfinished checkpoints are always kept: an interrupted run resumes from them.

Example catalog entry::

    checkpoints:
      type: rakuten_kedro.datasets.checkpoints.CheckpointsDataset
      path: data/06_models/checkpoints
      keep_finished: true
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from rakuten_kedro.training.checkpoint import finished_checkpoints

logger = logging.getLogger(__name__)


class CheckpointsDataset(AbstractDataset[None, Path]):
    """Loads the checkpoint root folder's path (created by the trainings that write there).

    Args:
        path: The root folder.
        keep_finished: Keep finished trainings' checkpoints after a successful run (a rerun
            reuses them) or delete them then (a rerun trains again).
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(
        self, *, path: str, keep_finished: bool = True, metadata: dict[str, Any] | None = None
    ) -> None:
        self._path = Path(path)
        self._keep_finished = keep_finished
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "keep_finished": self._keep_finished}

    def _exists(self) -> bool:
        return True  # an empty root is a valid state: nothing to resume yet

    def load(self) -> Path:
        return self._path

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is written by the trainings themselves, not saved")

    def discard_finished(self) -> list[Path]:
        """After a successful run: deletes the finished trainings' checkpoints, unless they
        are kept (``keep_finished``), and the folders that this leaves empty.

        Returns:
            The deleted checkpoint files.
        """
        if self._keep_finished:
            return []
        finished = finished_checkpoints(self._path)
        for path in finished:
            path.unlink()
            folder = path.parent
            while folder != self._path and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
        if finished:
            logger.info(
                "Deleted %d finished checkpoint(s) under %s (checkpoints.keep_finished: false; "
                "a rerun trains them again)",
                len(finished),
                self._path,
            )
        return finished
