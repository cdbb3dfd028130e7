"""Read-only Kedro dataset over the raw Rakuten files, in either published layout.

One dataset instance reads one subset (labelled ``train`` or ``test``) of one source
(``demo``, ``challengedata`` or ``sigir``) and returns the products with normalised columns
(see ``docs/architecture.md``). Everything a user can get wrong in a raw folder is checked
here, at load, with an error that names the file and the row or column.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from rakuten_kedro.codes import PRDTYPECODES

logger = logging.getLogger(__name__)

Subset = Literal["train", "test"]
PRODUCT_COLUMNS = ["row_id", "productid", "imageid", "title", "description", "image_path"]
_SHOWN = 5  # how many offending rows an error message lists


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
        raw_dir: str,
        subset: Subset,
        on_bad_image: Literal["error", "placeholder"] = "error",
        demo: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure which folder, layout and subset to read.

        Args:
            source: ``demo``, ``challengedata`` or ``sigir``.
            raw_dir: The folder in that layout. Never written to (``demo`` excepted: the
                demo data is generated there when the folder does not exist yet).
            subset: ``train`` (labelled products) or ``test``.
            on_bad_image: ``error`` stops on a missing photo; ``placeholder`` warns and lets
                the image cache put a blank photo in its place (and report it).
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
        self._source = source
        self._raw_dir = Path(raw_dir)
        self._subset = subset
        self._on_bad_image = on_bad_image
        self._demo = dict(demo or {})
        self._layout = LAYOUTS[source]
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"source": self._source, "raw_dir": str(self._raw_dir), "subset": self._subset}

    def _exists(self) -> bool:
        return self._raw_dir.is_dir()

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(
            f"{self._raw_dir} is raw data and read-only: rakuten_kedro never writes into it."
        )

    def load(self) -> pd.DataFrame:
        """Read, validate and normalise the subset.

        Returns:
            One row per product: ``row_id, productid, imageid, title, description,
            image_path`` and, for ``train``, ``prdtypecode``.
        """
        if self._source == "demo":
            self._ensure_demo_data()
        self._check_raw_dir()
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

    def _ensure_demo_data(self) -> None:
        from rakuten_kedro.demo import generate_demo_dataset  # noqa: PLC0415

        if not self._raw_dir.exists():
            logger.info("Generating the demo data into %s (first run only)", self._raw_dir)
            generate_demo_dataset(self._raw_dir, **self._demo)
            return
        expected = self._demo.get("n_products")
        x_train = self._raw_dir / self._layout.train_x
        if expected and x_train.is_file():
            found = sum(1 for _ in x_train.open("rb")) - 1
            if found < expected * 0.9 or found > expected * 1.1:
                logger.warning(
                    "%s holds an existing demo dataset of about %d products, not the %d "
                    "asked for; using it as it is. Delete the folder (or point data.raw_dir "
                    "elsewhere) to generate a new one.",
                    self._raw_dir,
                    found,
                    expected,
                )

    def _check_raw_dir(self) -> None:
        if not self._raw_dir.exists():
            raise DatasetError(
                f"data.raw_dir {self._raw_dir} does not exist. Put the {self._source} files "
                f"there (expected {self._layout.train_x}, {self._layout.train_y}, "
                f"{self._layout.test_x[0]} and the image folders) or pass another folder: "
                f'kedro run --params "data.source={self._source},data.raw_dir=/path".'
            )
        if not self._raw_dir.is_dir():
            raise DatasetError(f"data.raw_dir {self._raw_dir} is a file, not a folder.")
        if not os.access(self._raw_dir, os.R_OK | os.X_OK):
            raise DatasetError(f"data.raw_dir {self._raw_dir} is not readable by this user.")

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

    def _read_table(self, name: str | Path) -> pd.DataFrame:
        """Read one raw table; UTF-8 (with or without BOM), falling back to Latin-1."""
        path = self._raw_dir / name
        if not path.is_file():
            raise self._missing_file(str(name))
        if path.stat().st_size == 0:
            raise DatasetError(f"{path} is empty (0 bytes).")
        options = {
            "sep": self._layout.separator,
            "index_col": 0 if self._layout.id_column is None else None,
            "keep_default_na": False,
            "na_values": [""],
        }
        try:
            table = pd.read_csv(path, encoding="utf-8-sig", **options)
        except UnicodeDecodeError:
            logger.warning("%s is not UTF-8; reading it as Latin-1.", path)
            table = pd.read_csv(path, encoding="latin-1", **options)
        except (pd.errors.ParserError, ValueError) as error:
            raise DatasetError(f"{path} cannot be parsed as a table: {error}") from error
        if self._layout.id_column is None:
            table.index.name = "row_id"
            return table.reset_index()
        return table.rename(columns={self._layout.id_column: "row_id"})

    # -- tables ------------------------------------------------------------------------------

    def _read_products(self, path: Path) -> pd.DataFrame:
        table = self._read_table(path.name)
        self._require_columns(table, ["row_id", *self._layout.columns], path)
        products = table.rename(columns=self._layout.columns)[
            ["row_id", "productid", "imageid", "title", "description"]
        ]
        if products.empty:
            raise DatasetError(f"{path} has a header but no products.")
        for column in ("row_id", "productid", "imageid"):
            products[column] = _integer_column(products[column], column, path)
        _require_unique(products, "row_id", path)
        for column in ("title", "description"):
            products[column] = products[column].fillna("").astype(str)
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
        labels["row_id"] = _integer_column(labels["row_id"], "row_id", y_path)
        _require_unique(labels, "row_id", y_path)
        _require_aligned(products, labels, x_path, y_path)
        labels["prdtypecode"] = _integer_column(labels["prdtypecode"], "prdtypecode", y_path)
        unknown = labels[~labels["prdtypecode"].isin(PRDTYPECODES)]
        if not unknown.empty:
            shown = ", ".join(
                f"row_id {r} -> {c}"
                for r, c in unknown[["row_id", "prdtypecode"]].head(_SHOWN).to_numpy()
            )
            raise DatasetError(
                f"{y_path}: {len(unknown)} label(s) outside the 27 product type codes "
                f"({shown}). Valid codes: {list(PRDTYPECODES)}."
            )
        products["prdtypecode"] = labels["prdtypecode"].to_numpy()
        return products

    def _warn_on_ids_shared_with_train(self, test_products: pd.DataFrame) -> None:
        """Challengedata test ids continue after the train ids: a clash hints at mixed files."""
        if self._layout.id_column is not None:
            return  # SIGIR numbers its test files from 0: shared ids are normal there
        train_x = self._raw_dir / self._layout.train_x
        if not train_x.is_file():
            return
        train_ids = pd.read_csv(train_x, usecols=[0], encoding="latin-1").iloc[:, 0]
        shared = sorted(set(test_products["row_id"]) & set(train_ids))
        if shared:
            logger.warning(
                "%d test id(s) of %s also appear in %s (e.g. %s). Predictions are keyed by the "
                "test file's own ids, so the submission is still right, but check that the "
                "test file belongs to this training set.",
                len(shared),
                self._test_file().name,
                train_x.name,
                shared[:_SHOWN],
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

    def _image_paths(self, products: pd.DataFrame) -> pd.Series:
        folder = (self._raw_dir / self._layout.image_dirs[self._subset]).resolve()
        return pd.Series(
            [
                str(folder / image_file_name(i, p))
                for i, p in zip(products["imageid"], products["productid"], strict=True)
            ],
            index=products.index,
            dtype=object,
        )

    def _check_images(self, products: pd.DataFrame) -> None:
        missing = products[~products["image_path"].map(os.path.isfile)]
        if missing.empty:
            return
        shown = "; ".join(
            f"row_id {r} (productid {p}): {path}"
            for r, p, path in missing[["row_id", "productid", "image_path"]].head(_SHOWN).to_numpy()
        )
        message = f"{len(missing)} of {len(products)} {self._subset} photo(s) missing: {shown}"
        if self._on_bad_image == "error":
            raise DatasetError(
                f"{message}. Restore them, or run with "
                '--params "images.on_bad_image=placeholder" to use a blank photo instead '
                "(the products are then listed in data/08_reporting/image_issues.csv)."
            )
        logger.warning("%s. Using blank placeholders (see image_issues.csv).", message)


def _integer_column(values: pd.Series, column: str, path: Path) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values[numbers.isna() | (numbers != numbers.round())]
    if not bad.empty:
        rows = ", ".join(f"data row {i + 1}: {v!r}" for i, v in bad.head(_SHOWN).items())
        raise DatasetError(f"{path}: column {column!r} must hold integers ({rows}).")
    return numbers.astype("int64")


def _require_unique(table: pd.DataFrame, column: str, path: Path) -> None:
    duplicated = table.loc[table[column].duplicated(keep=False), column]
    if not duplicated.empty:
        values = sorted(set(duplicated.tolist()))[:_SHOWN]
        raise DatasetError(
            f"{path}: {duplicated.nunique()} duplicate {column} value(s), e.g. {values}; "
            "each product must appear once."
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
