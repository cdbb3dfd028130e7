"""``NewProductsDataset``: products to classify with the trained models (``predict`` pipeline).

``input_dir`` may hold, recognised in this order:

- the **challengedata** layout (``X_test_update.csv`` + ``images/image_test/``),
- the **SIGIR** layout (``x_test_task1_phase2.tsv`` or ``..._phase1.tsv`` + ``image_test/``),
- a single **CSV** file (comma-separated, UTF-8) with a ``title`` (or ``designation`` /
  ``Title``) column and optionally ``description``, ``productid``, ``imageid``, ``row_id`` and
  ``image_path``; photos are found through ``image_path`` (relative to ``input_dir`` or
  absolute) or as ``image_{imageid}_product_{productid}.jpg`` in ``images_dir`` (default:
  ``input_dir/images``, else ``input_dir``).

Every form is read by ``product_tables``, as the training files are: the same decoding, id,
duplicate and quote checks, with the same messages. The result has the normalised product
columns of ``docs/architecture.md``. Missing photos are allowed (the ``predict`` pipeline then
answers from the text alone, with a warning).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from rakuten_kedro.datasets.product_tables import check_policy, products_from_table, read_table
from rakuten_kedro.datasets.rakuten_raw import (
    CHALLENGEDATA,
    PRODUCT_COLUMNS,
    SIGIR,
    RakutenRawDataset,
    image_file_name,
)

logger = logging.getLogger(__name__)

_TITLE_COLUMNS = ("title", "designation", "Title")
_OPTIONAL_COLUMNS = {
    "description": ("description", "Description"),
    "row_id": ("row_id", "Integer_id", "Unnamed: 0"),
    "productid": ("productid", "Product_id"),
    "imageid": ("imageid", "Image_id"),
}


def _first_present(table: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    return next((column for column in candidates if column in table.columns), None)


class NewProductsDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """New products from a folder in either Rakuten layout, or a CSV and a photo folder.

    Example catalog entry::

        new_products:
          type: rakuten_kedro.datasets.new_products.NewProductsDataset
          input_dir: ${runtime_params:predict.input_dir, null}

    Args:
        input_dir: The folder (``None``: the run says how to set it).
        images_dir: Photo folder for the CSV form (default ``input_dir/images`` if it
            exists, else ``input_dir``).
        non_utf8_lines: ``error`` or ``windows-1252``, as for the raw data
            (``data.non_utf8_lines``).
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(
        self,
        *,
        input_dir: str | None,
        images_dir: str | None = None,
        non_utf8_lines: str = "error",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        check_policy(non_utf8_lines)
        self._input_dir = Path(input_dir) if input_dir else None
        self._images_dir = Path(images_dir) if images_dir else None
        self._non_utf8_lines = non_utf8_lines
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"input_dir": str(self._input_dir), "images_dir": str(self._images_dir)}

    def _exists(self) -> bool:
        return self._input_dir is not None and self._input_dir.is_dir()

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError("NewProductsDataset is read-only: it reads the products to classify")

    def describe_problems(self) -> list[str]:
        """What is wrong with ``input_dir``, found without reading it (for the preflight,
        ``rakuten_kedro/preflight.py``; ``load`` raises the same message)."""
        try:
            self._require_folder()
        except DatasetError as error:
            return [str(error)]
        return []

    def _require_folder(self) -> Path:
        if self._input_dir is None:
            raise DatasetError(
                "No folder of new products: run "
                'kedro run --pipelines predict --params "predict.input_dir=/path/to/folder"'
            )
        if not self._input_dir.is_dir():
            raise DatasetError(f"predict.input_dir {self._input_dir} is not a folder")
        return self._input_dir

    def load(self) -> pd.DataFrame:
        """Read the products of ``input_dir`` with normalised columns."""
        folder = self._require_folder()
        for source, layout in (("challengedata", CHALLENGEDATA), ("sigir", SIGIR)):
            if any((folder / name).is_file() for name in layout.test_x):
                logger.info("Reading new products from %s (%s layout)", folder, source)
                return RakutenRawDataset(
                    source=source,
                    raw_dir=str(folder),
                    subset="test",
                    on_bad_image="placeholder",
                    non_utf8_lines=self._non_utf8_lines,
                ).load()
        csv_files = sorted(folder.glob("*.csv"))
        if len(csv_files) != 1:
            raise DatasetError(
                f"{folder}: expected the challengedata or SIGIR test file, or exactly one CSV "
                f"file of products; found {[path.name for path in csv_files] or 'no CSV'}"
            )
        return self._read_csv(csv_files[0])

    def _read_csv(self, path: Path) -> pd.DataFrame:
        table = read_table(path, separator=",", non_utf8_lines=self._non_utf8_lines)
        title = _first_present(table, _TITLE_COLUMNS)
        if title is None:
            raise DatasetError(
                f"{path} needs a title column (one of {list(_TITLE_COLUMNS)}); "
                f"it has {list(table.columns)}"
            )
        columns = {title: "title"}
        for name, candidates in _OPTIONAL_COLUMNS.items():
            present = _first_present(table, candidates)
            if present is not None:
                columns[present] = name
        products = products_from_table(table, path, columns, ",")
        products["image_path"] = self._image_paths(table, products, path.parent)
        missing = int((~products["image_path"].map(lambda p: Path(p).is_file())).sum())
        if missing:
            logger.warning(
                "%s: %d of %d products have no photo; they are classified from their text",
                path,
                missing,
                len(products),
            )
        return products[PRODUCT_COLUMNS]

    def _image_paths(self, table: pd.DataFrame, products: pd.DataFrame, base: Path) -> list[str]:
        if "image_path" in table.columns:
            return [
                str((base / str(p)).resolve()) if pd.notna(p) and str(p) else ""
                for p in table["image_path"]
            ]
        folder = self._images_dir or (base / "images" if (base / "images").is_dir() else base)
        return [
            str((folder / image_file_name(i, p)).resolve())
            for i, p in zip(products["imageid"], products["productid"], strict=True)
        ]
