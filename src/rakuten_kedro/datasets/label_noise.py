"""``LabelNoiseDataset``: the demo generator's record of flipped labels, when there is one.

Only generated demo data comes with such a truth file; for the real challenge data there is
none. Loading therefore returns ``None`` (with a log line) when the file is absent, so the
one node that scores the denoising on it can report "no truth" instead of failing the run.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

#: Columns the demo generator writes to ``demo_label_noise.csv``.
LABEL_NOISE_COLUMNS = (
    "row_id",
    "productid",
    "imageid",
    "true_prdtypecode",
    "given_prdtypecode",
    "flipped",
)


class LabelNoiseDataset(AbstractDataset[None, pd.DataFrame | None]):
    """Read-only, optional CSV of injected label flips.

    Args:
        filepath: Path of ``demo_label_noise.csv``.
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return Path(str(self._filepath)).is_file()

    def load(self) -> pd.DataFrame | None:
        """The truth table, or None when the data source has no truth file."""
        path = Path(str(self._filepath))
        if not path.is_file():
            logger.info("no label-noise truth file at %s: denoising is not scored", path)
            return None
        table = pd.read_csv(path)
        missing = [c for c in LABEL_NOISE_COLUMNS if c not in table.columns]
        if missing:
            raise DatasetError(f"{path} lacks the column(s) {missing}; found {list(table.columns)}")
        table["flipped"] = table["flipped"].astype(str).str.lower().isin(["true", "1"])
        return table

    def save(self, data: None) -> None:
        """Never: the truth file is written by the demo generator only."""
        raise DatasetError(f"{self._filepath} is read-only (written by the demo generator)")
