"""Read-only Kedro dataset over the raw Rakuten files, in either published layout.

One dataset instance reads one subset (labelled ``train`` or ``test``) of one source
(``demo``, ``challengedata`` or ``sigir``) and returns the products with normalised columns
(see ``docs/architecture.md``). Everything a user can get wrong in a raw folder is checked
here, at load, with an error that names the file and the row or column; the tables are read
by ``product_tables``, as the new products of ``predict`` are.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from rakuten_kedro.codes import PRDTYPECODE_NAMES, PRDTYPECODES
from rakuten_kedro.datasets.product_tables import (
    SHOWN,
    check_policy,
    integer_column,
    products_from_table,
    read_table,
    require_unique,
)
from rakuten_kedro.distributed import process_rank, wait_for_main_process

logger = logging.getLogger(__name__)

Subset = Literal["train", "test"]
PRODUCT_COLUMNS = ["row_id", "productid", "imageid", "title", "description", "image_path"]


@dataclass(frozen=True)
class Layout:
    """Where a published layout keeps its files and what it calls its columns."""

    separator: str
    train_x: str
    train_y: str
    test_x: tuple[str, ...]  # candidates, the first that exists wins
    id_column: str | None  # None: the unnamed first column
    columns: dict[str, str]  # source column -> normalised name
    label_column: str
    image_dirs: dict[str, str]  # subset -> folder under raw_dir


CHALLENGEDATA = Layout(
    separator=",",
    train_x="X_train_update.csv",
    train_y="Y_train_CVw08PX.csv",
    test_x=("X_test_update.csv",),
    id_column=None,
    columns={
        "designation": "title",
        "description": "description",
        "productid": "productid",
        "imageid": "imageid",
    },
    label_column="prdtypecode",
    image_dirs={"train": "images/image_train", "test": "images/image_test"},
)

SIGIR = Layout(
    separator="\t",
    train_x="X_train.tsv",
    train_y="Y_train.tsv",
    test_x=("x_test_task1_phase2.tsv", "x_test_task1_phase1.tsv"),
    id_column="Integer_id",
    columns={
        "Title": "title",
        "Description": "description",
        "Product_id": "productid",
        "Image_id": "imageid",
    },
    label_column="Prdtypecode",
    image_dirs={"train": "image_training", "test": "image_test"},
)

LAYOUTS: dict[str, Layout] = {"demo": CHALLENGEDATA, "challengedata": CHALLENGEDATA, "sigir": SIGIR}


def image_file_name(imageid: int, productid: int) -> str:
    """The photo's file name, the same in both layouts."""
    return f"image_{imageid}_product_{productid}.jpg"


class RakutenRawDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """The labelled or test products of a raw Rakuten folder, validated and normalised.

    Example catalog entry::

        raw_products:
          type: rakuten_kedro.datasets.RakutenRawDataset
          source: challengedata
          raw_dir: data/01_raw/rakuten
          subset: train
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        source: str,
        raw_dir: str | None,
        subset: Subset,
        on_bad_image: Literal["error", "placeholder"] = "error",
        non_utf8_lines: str = "error",
        demo_dir: str | None = None,
        demo: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure which folder, layout and subset to read.

        Args:
            source: ``demo``, ``challengedata`` or ``sigir``.
            raw_dir: The folder in that layout. Never written to; with source ``demo`` and
                ``raw_dir`` the project's demo folder (``demo_dir``), the demo data is
                generated there when the folder is missing.
            subset: ``train`` (labelled products) or ``test``.
            on_bad_image: ``error`` stops on a missing photo; ``placeholder`` warns and lets
                the image cache put a blank photo in its place (and report it).
            non_utf8_lines: ``error`` or ``windows-1252`` (see ``product_tables``).
            demo_dir: The project's own demo folder, the only one demo data is generated
                into (relative paths: to the folder Kedro runs in); ``None``: never generate.
            demo: Keyword arguments of ``generate_demo_dataset`` (source ``demo`` only).
            metadata: Free-form metadata (kedro-viz layer).
        """
        if source not in LAYOUTS:
            raise DatasetError(
                f"Unknown data.source {source!r}: choose one of {sorted(LAYOUTS)} "
                '(e.g. kedro run --params "data.source=challengedata,data.raw_dir=/folder").'
            )
        if subset not in ("train", "test"):
            raise DatasetError(f"subset must be 'train' or 'test', not {subset!r}.")
        if on_bad_image not in ("error", "placeholder"):
            raise DatasetError(
                f"on_bad_image must be 'error' or 'placeholder', not {on_bad_image!r}."
            )
        check_policy(non_utf8_lines)
        self._source = source
        self._raw_dir = Path(raw_dir) if raw_dir and str(raw_dir).strip() else None
        self._subset = subset
        self._on_bad_image = on_bad_image
        self._non_utf8_lines = non_utf8_lines
        self._demo_dir = Path(demo_dir) if demo_dir else None
        self._demo = dict(demo or {})
        self._layout = LAYOUTS[source]
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"source": self._source, "raw_dir": str(self._raw_dir), "subset": self._subset}

    def _exists(self) -> bool:
        return self._raw_dir is not None and self._raw_dir.is_dir()

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(
            f"{self._raw_dir} is raw data and read-only: rakuten_kedro never writes into it."
        )

    def describe_problems(self) -> list[str]:
        """What is wrong with the folder and its layout, found without reading the files.

        The preflight (``rakuten_kedro/preflight.py``) reports these with everything else a
        run lacks, before it starts; ``load`` raises the same messages.

        Returns:
            One message per problem (none: the folder and the layout's files are there, or
            it is the demo folder, generated on first load).
        """
        try:
            raw_dir = self._require_raw_dir()
            if self._source == "demo" and self._is_demo_dir(raw_dir) and not raw_dir.exists():
                return []
            self._check_raw_dir(raw_dir)
        except DatasetError as error:
            return [str(error)]
        tables = (self._layout.train_x, self._layout.train_y)
        checks = (
            [partial(self._table_path, name) for name in tables]
            if self._subset == "train"
            else [self._test_file]
        )
        problems = []
        for check in [*checks, self._check_image_folder]:
            try:
                check()
            except DatasetError as error:
                problems.append(str(error))
        return problems

    def load(self) -> pd.DataFrame:
        """Read, validate and normalise the subset.

        Returns:
            One row per product: ``row_id, productid, imageid, title, description,
            image_path`` and, for ``train``, ``prdtypecode``.
        """
        raw_dir = self._require_raw_dir()
        if self._source == "demo" and self._is_demo_dir(raw_dir):
            self._ensure_demo_data(raw_dir)
        self._check_raw_dir(raw_dir)
        if self._subset == "train":
            products = self._read_labelled_products()
        else:
            products = self._read_products(self._test_file())
            self._warn_on_ids_shared_with_train(products)
        products["image_path"] = self._image_paths(products)
        self._check_images(products)
        label = ["prdtypecode"] if self._subset == "train" else []
        return products[PRODUCT_COLUMNS + label].reset_index(drop=True)

    # -- folder and files -------------------------------------------------------------------

    def _require_raw_dir(self) -> Path:
        if self._raw_dir is None:
            raise DatasetError(
                "data.raw_dir is empty: give the folder of the raw files, e.g. "
                'kedro run --params "data.source=challengedata,data.raw_dir=/data/rakuten".'
            )
        return self._raw_dir

    def _is_demo_dir(self, raw_dir: Path) -> bool:
        return self._demo_dir is not None and raw_dir.resolve() == self._demo_dir.resolve()

    def _ensure_demo_data(self, raw_dir: Path) -> None:
        from rakuten_kedro.demo import generate_demo_dataset  # noqa: PLC0415

        if not raw_dir.exists():
            if process_rank() != 0:  # rank 0 generates it; the others must not write it too
                wait_for_main_process(raw_dir, "the demo data")
                return
            logger.info("Generating the demo data into %s (first run only)", raw_dir)
            generate_demo_dataset(raw_dir, **self._demo)
            return
        expected = self._demo.get("n_products")
        x_train = raw_dir / self._layout.train_x
        if expected and x_train.is_file():
            found = sum(1 for _ in x_train.open("rb")) - 1
            if found < expected * 0.9 or found > expected * 1.1:
                logger.warning(
                    "%s holds an existing demo dataset of about %d products, not the %d "
                    "asked for; using it as it is. Delete the folder to generate a new one.",
                    raw_dir,
                    found,
                    expected,
                )

    def _check_raw_dir(self, raw_dir: Path) -> None:
        if not raw_dir.exists():
            demo_only = (
                f" Demo data is generated only into the project's demo folder "
                f"{self._demo_dir}, never into another folder."
                if self._source == "demo"
                else ""
            )
            raise DatasetError(
                f"data.raw_dir {raw_dir} does not exist. Put the {self._source} files "
                f"there (expected {self._layout.train_x}, {self._layout.train_y}, "
                f"{self._layout.test_x[0]} and the image folders) or pass another folder: "
                f'kedro run --params "data.source={self._source},data.raw_dir=/path".'
                f"{demo_only}"
            )
        if not raw_dir.is_dir():
            raise DatasetError(f"data.raw_dir {raw_dir} is a file, not a folder.")
        if not os.access(raw_dir, os.R_OK | os.X_OK):
            raise DatasetError(f"data.raw_dir {raw_dir} is not readable by this user.")

    def _test_file(self) -> Path:
        for name in self._layout.test_x:
            if (self._raw_dir / name).is_file():
                return self._raw_dir / name
        raise self._missing_file(self._layout.test_x[0])

    def _missing_file(self, name: str) -> DatasetError:
        present = sorted(p.name for p in self._raw_dir.iterdir())[:20]
        return DatasetError(
            f"{self._raw_dir / name} is missing: a {self._source} folder needs it "
            f"(found: {', '.join(present) or 'nothing'}). Is data.source right?"
        )

    def _table_path(self, name: str) -> Path:
        path = self._raw_dir / name
        if not path.is_file():
            raise self._missing_file(name)
        return path

    def _read_table(self, name: str) -> pd.DataFrame:
        """One raw table, every cell as written; the unnamed first column becomes ``row_id``."""
        path = self._table_path(name)
        table = read_table(
            path, separator=self._layout.separator, non_utf8_lines=self._non_utf8_lines
        )
        first = self._layout.id_column or table.columns[0]
        return table.rename(columns={first: "row_id"})

    # -- tables ------------------------------------------------------------------------------

    def _read_products(self, path: Path) -> pd.DataFrame:
        table = self._read_table(path.name)
        self._require_columns(table, ["row_id", *self._layout.columns], path)
        products = products_from_table(
            table, path, {"row_id": "row_id", **self._layout.columns}, self._layout.separator
        )
        empty_titles = int((products["title"].str.strip() == "").sum())
        if empty_titles:
            logger.warning(
                "%s: %d product(s) have an empty title; they are kept (description and "
                "photo still count).",
                path,
                empty_titles,
            )
        return products

    def _read_labelled_products(self) -> pd.DataFrame:
        x_path = self._raw_dir / self._layout.train_x
        y_path = self._raw_dir / self._layout.train_y
        products = self._read_products(x_path)
        labels = self._read_table(self._layout.train_y)
        self._require_columns(labels, ["row_id", self._layout.label_column], y_path)
        labels = labels.rename(columns={self._layout.label_column: "prdtypecode"})
        labels["row_id"] = integer_column(labels["row_id"], "row_id", y_path)
        require_unique(labels, "row_id", y_path)
        _require_aligned(products, labels, x_path, y_path)
        labels["prdtypecode"] = integer_column(labels["prdtypecode"], "prdtypecode", y_path)
        unknown = labels[~labels["prdtypecode"].isin(PRDTYPECODES)]
        if not unknown.empty:
            shown = ", ".join(
                f"row_id {r} -> {c}"
                for r, c in unknown[["row_id", "prdtypecode"]].head(SHOWN).to_numpy()
            )
            raise DatasetError(
                f"{y_path}: {len(unknown)} label(s) outside the 27 product type codes "
                f"({shown}). Valid codes: {list(PRDTYPECODES)}."
            )
        _warn_on_codes_without_rows(labels["prdtypecode"], y_path)
        products["prdtypecode"] = labels["prdtypecode"].to_numpy()
        return products

    def _warn_on_ids_shared_with_train(self, test_products: pd.DataFrame) -> None:
        """Challengedata test ids continue after the train ids: a clash hints at mixed files."""
        if self._layout.id_column is not None:
            return  # SIGIR numbers its test files from 0: shared ids are normal there
        train_x = self._raw_dir / self._layout.train_x
        if not train_x.is_file():
            return
        train_ids = integer_column(self._read_table(train_x.name)["row_id"], "row_id", train_x)
        shared = sorted(set(test_products["row_id"]) & set(train_ids))
        if shared:
            logger.warning(
                "%d test id(s) of %s also appear in %s (e.g. %s). Predictions are keyed by the "
                "test file's own ids, so the submission is still right, but check that the "
                "test file belongs to this training set.",
                len(shared),
                self._test_file().name,
                train_x.name,
                shared[:SHOWN],
            )

    @staticmethod
    def _require_columns(table: pd.DataFrame, columns: list[str], path: Path) -> None:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise DatasetError(
                f"{path} lacks column(s) {missing}; it has {list(table.columns)}. "
                "Is data.source right for this folder?"
            )

    # -- images ------------------------------------------------------------------------------

    def _image_folder(self) -> Path:
        return self._raw_dir / self._layout.image_dirs[self._subset]

    def _image_paths(self, products: pd.DataFrame) -> pd.Series:
        folder = self._image_folder().resolve()
        return pd.Series(
            [
                str(folder / image_file_name(i, p))
                for i, p in zip(products["imageid"], products["productid"], strict=True)
            ],
            index=products.index,
            dtype=object,
        )

    def _check_images(self, products: pd.DataFrame) -> None:
        self._check_image_folder()
        missing = products[~products["image_path"].map(os.path.isfile)]
        if missing.empty:
            return
        shown = "; ".join(
            f"row_id {r} (productid {p}): {path}"
            for r, p, path in missing[["row_id", "productid", "image_path"]].head(SHOWN).to_numpy()
        )
        message = f"{len(missing)} of {len(products)} {self._subset} photo(s) missing: {shown}"
        if self._on_bad_image == "error":
            raise DatasetError(
                f"{message}. Restore them, or run with "
                '--params "images.on_bad_image=placeholder" to use a blank photo instead '
                "(the products are then listed in data/08_reporting/image_issues.csv)."
            )
        logger.warning("%s. Using blank placeholders (see image_issues.csv).", message)

    def _check_image_folder(self) -> None:
        """A whole folder missing or unreadable is a wrong path, not a few broken photos."""
        folder = self._image_folder()
        if not folder.is_dir():
            raise DatasetError(
                f"The {self._subset} photo folder {folder} does not exist: the {self._source} "
                f"layout keeps the {self._subset} photos there. Is the folder in the right "
                "place (and data.source right)?"
            )
        if not os.access(folder, os.R_OK | os.X_OK):
            raise DatasetError(
                f"The {self._subset} photo folder {folder} is not readable by this user "
                "(it needs read and execute permission)."
            )


def _warn_on_codes_without_rows(codes: pd.Series, path: Path) -> None:
    """A code with no training row can never be predicted: say so before hours of training."""
    present = set(codes)
    absent = [code for code in PRDTYPECODES if code not in present]
    if absent:
        logger.warning(
            "%s: %d of the 27 product type codes have no training row, so no model can learn "
            "them: %s.",
            path,
            len(absent),
            ", ".join(f"{code} ({PRDTYPECODE_NAMES[code]})" for code in absent),
        )


def _require_aligned(
    products: pd.DataFrame, labels: pd.DataFrame, x_path: Path, y_path: Path
) -> None:
    if len(products) != len(labels):
        raise DatasetError(
            f"{x_path} has {len(products)} products but {y_path} has {len(labels)} labels: "
            "the two files must describe the same products, in the same order."
        )
    mismatch = products["row_id"].to_numpy() != labels["row_id"].to_numpy()
    if mismatch.any():
        first = int(mismatch.argmax())
        raise DatasetError(
            f"{x_path} and {y_path} are misaligned: data row {first + 1} has id "
            f"{products['row_id'].iloc[first]} in X but {labels['row_id'].iloc[first]} in Y."
        )
