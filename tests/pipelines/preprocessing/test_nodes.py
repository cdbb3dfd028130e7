"""Preprocessing: cleaning on real-looking strings, the split, the whole pipeline in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.datasets import ImageCacheDataset, RakutenRawDataset
from rakuten_kedro.pipelines.preprocessing import create_pipeline
from rakuten_kedro.pipelines.preprocessing.nodes import (
    clean_products,
    encode_labels,
    split_train_validation,
)
from rakuten_kedro.text_cleaning import clean_text
from tests.fixtures import make_products, write_challengedata_folder


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("L&#39;&eacute;t&eacute; <b>Chaud</b>", "L'été Chaud"),
        (
            "<p>Tr&egrave;s bon &eacute;tat.<br />Notice incluse.</p>",
            "Très bon état. Notice incluse.",
        ),
        ("&lt;br /&gt;escaped &amp;eacute;t&amp;eacute;", "escaped été"),
        ("  plusieurs   espaces\n\tet\xa0sauts ", "plusieurs espaces et sauts"),
        ("Taille < 3 ans & plus", "Taille < 3 ans & plus"),
        ("texte <div class='never closed", "texte"),
        (float("nan"), ""),
        (None, ""),
        ("", ""),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_clean_products_keeps_title_and_description_apart():
    raw = make_products(1).rename(columns={"designation": "title"})
    cleaned = clean_products(raw)
    assert cleaned["title"].iloc[0] == "Lot de 3 Télécommandes Universelles 10"
    assert cleaned["description"].iloc[0] == "Très bon état. Livré avec notice."
    assert cleaned["description"].iloc[1] == ""
    assert len(cleaned) == len(raw) and list(cleaned.columns) == list(raw.columns)


def test_split_is_stratified_and_reproducible():
    products = make_products(20)
    options = {"validation_fraction": 0.1, "seed": 2020}
    first = split_train_validation(products, encode_labels(), options)
    again = split_train_validation(products, encode_labels(), options)
    pd.testing.assert_frame_equal(first, again)
    per_code = first[first["split"] == "val"].groupby("prdtypecode").size()
    assert (per_code == 2).all() and len(per_code) == 27  # 10 % of 20 in every code
    assert [PRDTYPECODES[label] for label in first["label"]] == first["prdtypecode"].tolist()
    other_seed = split_train_validation(products, encode_labels(), {**options, "seed": 1})
    assert not other_seed["split"].equals(first["split"])


def test_split_refuses_a_code_with_one_product():
    products = make_products(3).iloc[:-1]
    products = products[(products["prdtypecode"] != 10) | (products["row_id"] == 0)]
    with pytest.raises(ValueError, match=r"Code\(s\) \[10\] have a single product"):
        split_train_validation(products, encode_labels(), {"validation_fraction": 0.2, "seed": 0})


def test_preprocessing_pipeline_end_to_end(tmp_path: Path):
    folder = write_challengedata_folder(tmp_path / "raw", n_per_code=10)
    raw = {"source": "challengedata", "raw_dir": str(folder)}
    catalog = DataCatalog(
        {
            "raw_products": RakutenRawDataset(subset="train", **raw),
            "raw_test_products": RakutenRawDataset(subset="test", **raw),
            "image_cache": ImageCacheDataset(path=str(tmp_path / "cache" / "labelled")),
            "test_image_cache": ImageCacheDataset(path=str(tmp_path / "cache" / "test")),
            "products": ParquetDataset(filepath=str(tmp_path / "products.parquet")),
            "test_products": ParquetDataset(filepath=str(tmp_path / "test_products.parquet")),
            "label_encoding": JSONDataset(filepath=str(tmp_path / "label_encoding.json")),
            "image_issues": CSVDataset(filepath=str(tmp_path / "image_issues.csv")),
            "params:preprocessing.split": MemoryDataset({"validation_fraction": 0.1, "seed": 2020}),
            "params:preprocessing.image_cache": MemoryDataset(
                {"sizes": [8, 16], "on_bad_image": "error"}
            ),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    products = catalog.load("products")
    assert len(products) == 270 and (products["split"] == "val").sum() == 27
    cache = catalog.load("image_cache")
    assert cache.row_ids.tolist() == products["row_id"].tolist()
    assert cache.images(16).shape == (270, 16, 16, 3)
    assert catalog.load("test_image_cache").images(8).shape == (10, 8, 8, 3)
    assert catalog.load("label_encoding") == {"codes": list(PRDTYPECODES)}
    assert len(catalog.load("image_issues")) == 0
    assert np.all(catalog.load("test_products")["title"].str.len() > 0)
