"""``PredictionsDataset``: the predict pipeline's ``predictions.csv``, never a stale one.

The file is written atomically (a crash never leaves half a file), and a predict run removes
the previous one before it starts (``DiscardStalePredictionsHooks``), so a run that fails
leaves no file that could be taken for its output. Each row records the input folder and the
models it came from (``input_dir``, ``models`` columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from rakuten_kedro.atomic import atomic_path


class PredictionsDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A CSV of predictions, written atomically and discarded when a new predict run starts.

    Example catalog entry::

        predictions:
          type: rakuten_kedro.datasets.predictions.PredictionsDataset
          filepath: data/07_model_output/predictions.csv

    Args:
        filepath: Where the CSV goes (local path).
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def save(self, data: pd.DataFrame) -> None:
        with atomic_path(self._filepath) as temp:
            data.to_csv(temp, index=False)

    def load(self) -> pd.DataFrame:
        if not self._filepath.is_file():
            raise DatasetError(
                f"no predictions at {self._filepath}: run "
                'kedro run --pipelines predict --params "predict.input_dir=/path/to/folder"'
            )
        return pd.read_csv(self._filepath)

    def discard(self) -> None:
        """Remove the previous predictions (a predict run is starting)."""
        self._filepath.unlink(missing_ok=True)
