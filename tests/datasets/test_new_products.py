"""NewProductsDataset reads either Rakuten layout or a CSV with photos; photos may be missing."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from kedro.io import DatasetError

from rakuten_kedro.datasets.new_products import NewProductsDataset
from tests.fixtures import write_challengedata_folder, write_photo, write_sigir_folder

COLUMNS = ["row_id", "productid", "imageid", "title", "description", "image_path"]


def test_reads_a_csv_and_its_photo_folder(tmp_path, caplog):
    pd.DataFrame(
        {
            "designation": ["Piscine tubulaire", "Puzzle 1000 pièces"],
            "description": ["<p>Bleue</p>", None],
            "productid": [11, 22],
            "imageid": [101, 202],
        }
    ).to_csv(tmp_path / "new.csv", index=False)
    write_photo(tmp_path / "images" / "image_101_product_11.jpg", seed=1)
    with caplog.at_level(logging.WARNING):
        products = NewProductsDataset(input_dir=str(tmp_path)).load()
    assert list(products.columns) == COLUMNS
    assert products["row_id"].tolist() == [0, 1]
    assert products["description"].tolist() == ["<p>Bleue</p>", ""]
    assert products["image_path"][0].endswith("images/image_101_product_11.jpg")
    assert "1 of 2 products have no photo" in caplog.text


def test_reads_image_paths_given_in_the_csv(tmp_path):
    write_photo(tmp_path / "photos" / "a.jpg", seed=2)
    pd.DataFrame({"title": ["Lot de 3"], "image_path": ["photos/a.jpg"], "row_id": [7]}).to_csv(
        tmp_path / "products.csv", index=False
    )
    products = NewProductsDataset(input_dir=str(tmp_path)).load()
    assert products["row_id"].tolist() == [7] and products["productid"].tolist() == [-1]
    assert products["image_path"][0] == str((tmp_path / "photos" / "a.jpg").resolve())


@pytest.mark.parametrize("writer", [write_challengedata_folder, write_sigir_folder])
def test_reads_the_test_products_of_either_layout(tmp_path, writer):
    writer(tmp_path / "raw", n_per_code=1, n_test=5)
    products = NewProductsDataset(input_dir=str(tmp_path / "raw")).load()
    assert len(products) == 5 and list(products.columns) == COLUMNS


def test_says_how_to_point_it_at_a_folder(tmp_path):
    with pytest.raises(DatasetError, match='--params "predict.input_dir='):
        NewProductsDataset(input_dir=None).load()
    [unset] = NewProductsDataset(input_dir=None).describe_problems()  # the preflight's
    assert '--params "predict.input_dir=' in unset
    [not_a_folder] = NewProductsDataset(input_dir=str(tmp_path / "nowhere")).describe_problems()
    assert "is not a folder" in not_a_folder
    assert NewProductsDataset(input_dir=str(tmp_path)).describe_problems() == []
    with pytest.raises(DatasetError, match="exactly one CSV"):
        NewProductsDataset(input_dir=str(tmp_path)).load()
    pd.DataFrame({"name": ["x"]}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(DatasetError, match="needs a title column"):
        NewProductsDataset(input_dir=str(tmp_path)).load()
