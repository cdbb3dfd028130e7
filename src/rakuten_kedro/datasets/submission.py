"""``SubmissionDataset``: predictions for the test products, in the source's submission format.

- ``challengedata`` (and ``demo``, which uses that layout): comma-separated, first column the
  test file's unnamed integer id, then ``prdtypecode``::

      ,prdtypecode
      84916,1280

- ``sigir``: tab-separated with the header ``Integer_id  Image_id  Product_id  Prdtypecode``.

The dataset saves and loads a table with the normalised columns ``row_id``, ``productid``,
``imageid``, ``prdtypecode`` (the challengedata format keeps only ``row_id`` and
``prdtypecode``). Files are written atomically: an interrupted run never leaves half a file.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from rakuten_kedro.atomic import atomic_path

FORMATS = {"demo": "challengedata", "challengedata": "challengedata", "sigir": "sigir"}
SIGIR_COLUMNS = {
    "row_id": "Integer_id",
    "imageid": "Image_id",
    "productid": "Product_id",
    "prdtypecode": "Prdtypecode",
}


class SubmissionDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """The submission file of a data source.

    Example catalog entry::

        submission:
          type: rakuten_kedro.datasets.submission.SubmissionDataset
          filepath: data/07_model_output/submission.csv
          source: ${runtime_params:data.source, ${globals:data.source}}

    Args:
        filepath: Where the submission file goes (local path).
        source: ``demo``, ``challengedata`` or ``sigir``: decides the format.
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(
        self, *, filepath: str, source: str, metadata: dict[str, Any] | None = None
    ) -> None:
        if source not in FORMATS:
            raise DatasetError(
                f"SubmissionDataset: unknown source {source!r}; choose one of {sorted(FORMATS)}"
            )
        self._filepath = PurePosixPath(filepath)
        self._source = source
        self._format = FORMATS[source]
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "source": self._source, "format": self._format}

    def _exists(self) -> bool:
        return Path(str(self._filepath)).is_file()

    def save(self, data: pd.DataFrame) -> None:
        """Write the predictions in the source's format.

        Args:
            data: ``row_id``, ``prdtypecode``, and for ``sigir`` also ``productid`` and
                ``imageid``; one row per test product.
        """
        needed = ["row_id", "prdtypecode"]
        if self._format == "sigir":
            needed += ["imageid", "productid"]
        missing = [column for column in needed if column not in data.columns]
        if missing:
            raise DatasetError(
                f"SubmissionDataset({self._filepath}): the {self._format} format needs columns "
                f"{needed}; missing {missing}"
            )
        duplicated = data["row_id"][data["row_id"].duplicated()].unique()
        if len(duplicated):
            raise DatasetError(
                f"SubmissionDataset({self._filepath}): duplicated row_id {duplicated[:5].tolist()}"
            )
        table = data[needed].astype("int64")
        with atomic_path(str(self._filepath)) as temp:
            if self._format == "challengedata":
                table.set_index("row_id").rename_axis(None).to_csv(temp)
            else:
                table[list(SIGIR_COLUMNS)].rename(columns=SIGIR_COLUMNS).to_csv(
                    temp, sep="\t", index=False
                )

    def load(self) -> pd.DataFrame:
        """Read a submission back into the normalised columns (``row_id``, …, ``prdtypecode``)."""
        path = Path(str(self._filepath))
        if not path.is_file():
            raise DatasetError(f"no submission file at {path}: run the ensemble pipeline first")
        if self._format == "challengedata":
            table = pd.read_csv(path, index_col=0)
            return table.rename_axis("row_id").reset_index()[["row_id", "prdtypecode"]]
        table = pd.read_csv(path, sep="\t")
        missing = [column for column in SIGIR_COLUMNS.values() if column not in table.columns]
        if missing:
            raise DatasetError(f"{path}: not a SIGIR submission, missing columns {missing}")
        return table.rename(columns={v: k for k, v in SIGIR_COLUMNS.items()})[list(SIGIR_COLUMNS)]
