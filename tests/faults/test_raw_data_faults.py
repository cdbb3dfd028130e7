"""Fault injection on raw folders: one defect each, each with its documented outcome.

docs/reliability.md lists these cases and what the user sees; keep the two in step.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from PIL import Image

from rakuten_kedro.datasets import ImageCacheDataset, ImageCacheSpec, RakutenRawDataset
from rakuten_kedro.datasets.image_cache import decode_photo
from rakuten_kedro.text_cleaning import clean_text
from tests.fixtures import write_challengedata_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_challengedata_folder(tmp_path / "raw", n_per_code=2, n_test=4)


def load(folder: Path, subset: str = "train", **kwargs) -> pd.DataFrame:
    return RakutenRawDataset(
        source="challengedata", raw_dir=str(folder), subset=subset, **kwargs
    ).load()


def cache_of(products: pd.DataFrame, tmp_path: Path, on_bad_image: str = "placeholder"):
    spec = ImageCacheSpec(
        row_ids=products["row_id"].to_numpy(),
        image_paths=tuple(products["image_path"]),
        sizes=(16,),
        on_bad_image=on_bad_image,
    )
    dataset = ImageCacheDataset(path=str(tmp_path / "cache"))
    dataset.save(spec)
    return dataset.load()


def rewrite_x_train(folder: Path, edit) -> None:
    path = folder / "X_train_update.csv"
    table = pd.read_csv(path, index_col=0)
    table["designation"] = table["designation"].astype(object)
    table["description"] = table["description"].astype(object)
    edit(table)
    table.to_csv(path)


def test_png_named_jpg_is_decoded(folder: Path, tmp_path: Path):
    products = load(folder)
    Image.new("RGB", (30, 30), (255, 0, 0)).save(products["image_path"].iloc[0], format="PNG")
    cache = cache_of(products, tmp_path, on_bad_image="error")
    assert tuple(cache.images(16)[0, 8, 8]) == (255, 0, 0)


def test_huge_photo_is_decoded_at_reduced_scale_quickly(tmp_path: Path):
    path = tmp_path / "huge.jpg"
    Image.new("RGB", (6000, 6000), (10, 200, 30)).save(path, quality=70)
    started = time.perf_counter()
    (small,) = decode_photo(path, [32])
    assert small.shape == (32, 32, 3) and abs(int(small[16, 16, 1]) - 200) < 5
    assert time.perf_counter() - started < 2.0


def test_quoted_field_with_newlines_and_commas(folder: Path):
    rewrite_x_train(
        folder, lambda t: t.__setitem__("description", ['Ligne 1,\nligne 2, "cité"'] * len(t))
    )
    products = load(folder)
    assert len(products) == 54
    assert clean_text(products["description"].iloc[0]) == 'Ligne 1, ligne 2, "cité"'


def test_nan_or_empty_title_is_kept_with_a_warning(folder: Path, caplog):
    def blank_titles(table: pd.DataFrame) -> None:
        table.iloc[0, table.columns.get_loc("designation")] = np.nan
        table.iloc[1, table.columns.get_loc("designation")] = "   "

    rewrite_x_train(folder, blank_titles)
    products = load(folder)
    assert products["title"].iloc[0] == "" and len(products) == 54
    assert "2 product(s) have an empty title" in caplog.text


def test_very_long_description_is_read_and_cleaned_fast(folder: Path):
    long_text = "<p>" + "Très belle lampe &eacute;l&eacute;gante. " * 2500 + "</p>"
    assert len(long_text) > 100_000
    rewrite_x_train(folder, lambda t: t.__setitem__("description", [long_text] * len(t)))
    products = load(folder)
    started = time.perf_counter()
    cleaned = clean_text(products["description"].iloc[0])
    assert time.perf_counter() - started < 1.0
    assert cleaned.startswith("Très belle lampe élégante.") and "<p>" not in cleaned


def test_html_that_never_closes(folder: Path):
    assert clean_text("<div><p>Super <b>prix") == "Super prix"
    assert clean_text("Promo <a href='http://x.fr/?a=1&b=2") == "Promo"


def test_test_id_colliding_with_a_train_id_warns(folder: Path, caplog):
    path = folder / "X_test_update.csv"
    test = pd.read_csv(path, index_col=0)
    test.index = [0, *test.index[1:]]
    test.to_csv(path)
    assert len(load(folder, "test")) == 4
    assert "1 test id(s) of X_test_update.csv also appear in X_train_update.csv" in caplog.text


def test_raw_dir_that_is_a_file(tmp_path: Path):
    not_a_folder = tmp_path / "file.csv"
    not_a_folder.write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        load(not_a_folder)


def test_zero_byte_csv(folder: Path):
    (folder / "Y_train_CVw08PX.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"Y_train_CVw08PX.csv is empty \(0 bytes\)"):
        load(folder)


def test_bad_photos_in_one_run_are_all_reported(folder: Path, tmp_path: Path):
    products = load(folder)
    Path(products["image_path"].iloc[1]).write_bytes(b"")
    Path(products["image_path"].iloc[2]).write_text("<html>404</html>")
    cache = cache_of(products, tmp_path)
    assert cache.issues["row_id"].tolist() == [1, 2]
    assert cache.issues["problem"].str.startswith(("empty", "unreadable")).all()


def test_unreadable_raw_dir(folder: Path, monkeypatch):
    # Tests run as root, which reads anything: simulate the permission check failing.
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(DatasetError, match="is not readable by this user"):
        load(folder)
