"""Small raw folders in both published layouts, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from rakuten_kedro.codes import PRDTYPECODES

TITLES = [
    "Lot de 3 T&eacute;l&eacute;commandes <b>Universelles</b>",
    "Piscine Tubulaire 300 x 76 cm",
    "Harry Potter Tome 4 - L&#39;&eacute;cole des sorciers",
    "Puzzle 1000 pi&egrave;ces",
]
DESCRIPTIONS = [
    "<p>Tr&egrave;s bon &eacute;tat.<br />Livr&eacute; avec notice.</p>",
    "",
    "Kinderspielzeug aus Holz &amp; Metall",
    "  plusieurs   espaces\n\tet sauts de ligne ",
]


def make_products(n_per_code: int = 4, codes=PRDTYPECODES, first_id: int = 0) -> pd.DataFrame:
    """Labelled products with real-looking text: ``n_per_code`` rows for each code."""
    rows = []
    for index in range(n_per_code * len(codes)):
        code = codes[index % len(codes)]
        rows.append(
            {
                "row_id": first_id + index,
                "designation": f"{TITLES[index % len(TITLES)]} {code}",
                "description": DESCRIPTIONS[index % len(DESCRIPTIONS)] or np.nan,
                "productid": 100_000 + first_id + index,
                "imageid": 900_000 + first_id + index,
                "prdtypecode": code,
            }
        )
    return pd.DataFrame(rows)


def write_photo(path: Path, seed: int, size: int = 40, mode: str = "RGB") -> None:
    """A small deterministic photo whose pixels tests can compare against."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path, format="JPEG", quality=95)


def write_challengedata_folder(
    folder: Path, n_per_code: int = 4, n_test: int = 10, photo_size: int = 40
) -> Path:
    """Write ``X_train_update.csv``, ``Y_train_CVw08PX.csv``, ``X_test_update.csv`` and photos."""
    folder.mkdir(parents=True, exist_ok=True)
    train = make_products(n_per_code)
    test = make_products(1, first_id=len(train)).head(n_test)
    x_columns = ["designation", "description", "productid", "imageid"]
    train.set_index("row_id")[x_columns].rename_axis(None).to_csv(folder / "X_train_update.csv")
    train.set_index("row_id")[["prdtypecode"]].rename_axis(None).to_csv(
        folder / "Y_train_CVw08PX.csv"
    )
    test.set_index("row_id")[x_columns].rename_axis(None).to_csv(folder / "X_test_update.csv")
    for table, subfolder in ((train, "image_train"), (test, "image_test")):
        for row in table.itertuples():
            name = f"image_{row.imageid}_product_{row.productid}.jpg"
            write_photo(folder / "images" / subfolder / name, row.row_id, photo_size)
    return folder


def write_sigir_folder(folder: Path, n_per_code: int = 4, n_test: int = 10) -> Path:
    """Write the SIGIR layout: ``X_train.tsv``, ``Y_train.tsv``, the phase-2 test file, photos."""
    folder.mkdir(parents=True, exist_ok=True)
    train = make_products(n_per_code)
    test = make_products(1).head(n_test)  # SIGIR test ids restart at 0
    renamed = {
        "row_id": "Integer_id",
        "designation": "Title",
        "description": "Description",
        "imageid": "Image_id",
        "productid": "Product_id",
        "prdtypecode": "Prdtypecode",
    }
    x_columns = ["Integer_id", "Title", "Description", "Image_id", "Product_id"]
    y_columns = ["Integer_id", "Image_id", "Product_id", "Prdtypecode"]
    train = train.rename(columns=renamed)
    test = test.rename(columns=renamed)
    train[x_columns].to_csv(folder / "X_train.tsv", sep="\t", index=False)
    train[y_columns].to_csv(folder / "Y_train.tsv", sep="\t", index=False)
    test[x_columns].to_csv(folder / "x_test_task1_phase2.tsv", sep="\t", index=False)
    for table, subfolder in ((train, "image_training"), (test, "image_test")):
        for row in table.itertuples():
            name = f"image_{row.Image_id}_product_{row.Product_id}.jpg"
            write_photo(folder / subfolder / name, row.Integer_id)
    return folder
