"""Fault injection on raw folders: one defect each, each with its documented outcome.

docs/reliability.md lists these cases and what the user sees; keep the two in step.
"""

from __future__ import annotations

import os
import re
import shutil
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


# -- text decoding ----------------------------------------------------------------------------


def set_titles(folder: Path, titles) -> None:
    rewrite_x_train(folder, lambda t: t.__setitem__("designation", list(titles)))


def test_one_stray_latin1_byte_stops_naming_its_line_and_byte(folder: Path):
    set_titles(folder, (f"Imperméable {i}" for i in range(54)))
    path = folder / "X_train_update.csv"
    data = path.read_bytes().replace("Imperméable 7,".encode(), b"Imperm\xe9able 7,", 1)
    path.write_bytes(data)
    offset = data.index(b"\xe9able 7,")
    line = data[:offset].count(b"\n") + 1
    with pytest.raises(
        DatasetError,
        match=rf"X_train_update.csv is not UTF-8 on 1 line\(s\): line {line} "
        rf"\(byte {offset}\): '.*Imperm\\xe9able 7,.*'\. Convert the file",
    ):
        load(folder)


def test_windows_1252_setting_decodes_only_the_bad_lines(folder: Path, caplog):
    set_titles(folder, (f"Imperméable {i}" for i in range(54)))
    path = folder / "X_train_update.csv"
    stray = "Imperméable 7,".encode("cp1252")
    path.write_bytes(path.read_bytes().replace("Imperméable 7,".encode(), stray, 1))
    products = load(folder, non_utf8_lines="windows-1252")
    # One stray byte garbles nothing else: every other line stays UTF-8 (no "ImpermÃ©able").
    assert products["title"].tolist() == [f"Imperméable {i}" for i in range(54)]
    assert "1 line(s) are not UTF-8" in caplog.text and "Imperm\\xe9able 7" in caplog.text


def test_a_windows_1252_file_keeps_its_euro_signs_quotes_and_dashes(folder: Path):
    titles = [f"Lot {i} – 5 € “œuvre” ‘x’ …" for i in range(54)]
    set_titles(folder, titles)
    path = folder / "X_train_update.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    assert load(folder, non_utf8_lines="windows-1252")["title"].tolist() == titles


def test_a_byte_undefined_in_windows_1252_names_the_line(folder: Path):
    path = folder / "X_train_update.csv"
    data = path.read_bytes().replace(b"Piscine", b"Pis\x81cine", 1)
    path.write_bytes(data)
    line = data[: data.index(b"\x81")].count(b"\n") + 1
    with pytest.raises(
        DatasetError, match=rf"line {line} \(byte \d+\) holds byte 0x81, which is neither UTF-8"
    ):
        load(folder, non_utf8_lines="windows-1252")


# -- ids, duplicates, quotes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("1.2e+09", "scientific notation: a spreadsheet rounded it"),
        ("100003.0", "a decimal number"),
        ("12345678901234567890", "outside the 64-bit range"),
    ],
)
def test_an_id_that_is_not_an_exact_integer_is_named_as_written(folder, written, problem):
    def edit(table: pd.DataFrame) -> None:
        table["productid"] = table["productid"].astype(object)
        table.iloc[3, table.columns.get_loc("productid")] = written

    rewrite_x_train(folder, edit)
    with pytest.raises(
        DatasetError,
        match=rf"X_train_update.csv: column 'productid' must hold integers; 1 value\(s\) are "
        rf"not \(data row 4: '{re.escape(written)}' \({problem}",
    ):
        load(folder)


def test_a_product_listed_twice_names_both_rows(folder: Path):
    def duplicate(table: pd.DataFrame) -> None:
        for column in ("productid", "imageid"):
            table.iloc[10, table.columns.get_loc(column)] = table.iloc[2][column]

    rewrite_x_train(folder, duplicate)
    with pytest.raises(
        DatasetError,
        match=r"1 product\(s\) appear more than once \(productid 100002, imageid 900002: "
        r"data rows 3, 11 \(row_id 2, 10\)\)",
    ):
        load(folder)


def plain_descriptions(folder: Path, quoted_row: int) -> None:
    """Descriptions without quotes, except one with a comma (so the CSV quotes it)."""
    rewrite_x_train(
        folder,
        lambda t: t.__setitem__(
            "description", [f"desc {i}" if i != quoted_row else "Avec, virgule" for i in range(54)]
        ),
    )


@pytest.mark.parametrize("quoted_row", [3, 6])  # the next quote right after, or records later
def test_an_unclosed_quote_that_swallows_records_names_the_row_and_the_quote(folder, quoted_row):
    plain_descriptions(folder, quoted_row)
    path = folder / "X_train_update.csv"
    text = path.read_text(encoding="utf-8").replace("\n2,Harry", '\n2,"Harry', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        DatasetError,
        match=r"X_train_update.csv: data row 3 \(row_id 2\): its 'designation' runs over \d+ "
        r"lines and holds what looks like the start of another record \('3,.*the quote \(\"\) "
        r"that opens this field, before 'Harry Potter",
    ):
        load(folder)


def test_multi_line_descriptions_with_numbers_are_not_taken_for_swallowed_records(folder):
    descriptions = [
        "Tailles 36,38,40\n42,44 sur commande",
        "Compte à rebours\n5,4,3,2,1",
        'Dimensions : 120 x 60 cm,\n3 places, "cuir"\nRéf. 1234,5678',
    ]
    rewrite_x_train(
        folder, lambda t: t.__setitem__("description", [descriptions[i % 3] for i in range(54)])
    )
    products = load(folder)
    assert products["description"].tolist() == [descriptions[i % 3] for i in range(54)]


# -- folders and codes ------------------------------------------------------------------------


@pytest.mark.parametrize("raw_dir", ["", None])
def test_an_empty_raw_dir_has_its_own_message(raw_dir):
    with pytest.raises(DatasetError, match=r"data.raw_dir is empty: give the folder"):
        RakutenRawDataset(source="challengedata", raw_dir=raw_dir, subset="train").load()


def test_an_unreadable_photo_folder_has_its_own_message(folder: Path, monkeypatch):
    # Tests run as root, which reads anything: the photo folder alone fails the check.
    photos = folder / "images" / "image_train"
    access = os.access
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != photos and access(path, mode))
    with pytest.raises(
        DatasetError, match=r"train photo folder .*image_train is not readable by this user"
    ):
        load(folder, on_bad_image="placeholder")


@pytest.mark.parametrize("on_bad_image", ["error", "placeholder"])
def test_a_missing_photo_folder_is_named(folder: Path, on_bad_image: str):
    shutil.rmtree(folder / "images" / "image_test")
    with pytest.raises(
        DatasetError, match=rf"The test photo folder {folder}/images/image_test does not exist"
    ):
        load(folder, "test", on_bad_image=on_bad_image)


def test_a_code_without_training_rows_is_named(folder: Path, caplog):
    labels = pd.read_csv(folder / "Y_train_CVw08PX.csv", index_col=0)
    keep = ~labels["prdtypecode"].isin([1180, 2905]).to_numpy()
    for name in ("X_train_update.csv", "Y_train_CVw08PX.csv"):
        pd.read_csv(folder / name, index_col=0)[keep].to_csv(folder / name)
    assert len(load(folder)) == 50
    assert (
        "2 of the 27 product type codes have no training row, so no model can learn them: "
        "1180 (tabletop wargames), 2905 (PC games (download))" in caplog.text
    )


# -- no silent demo ---------------------------------------------------------------------------

TINY_DEMO = {"n_products": 270, "n_test": 27, "image_size": 24, "min_per_class": 4}


@pytest.mark.parametrize("source", ["demo", "challengedata", "sigir"])
def test_a_missing_raw_dir_is_an_error_whatever_the_source(tmp_path: Path, source: str):
    typo = tmp_path / "some" / "typo"
    dataset = RakutenRawDataset(
        source=source,
        raw_dir=str(typo),
        subset="train",
        demo_dir=str(tmp_path / "data" / "01_raw" / "demo"),
        demo=TINY_DEMO,
    )
    with pytest.raises(DatasetError, match=rf"data.raw_dir {typo} does not exist"):
        dataset.load()
    assert list(tmp_path.iterdir()) == []  # nothing generated, anywhere


def test_demo_data_is_generated_into_the_project_demo_folder_only(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the folder Kedro runs in
    products = RakutenRawDataset(
        source="demo",
        raw_dir=str(tmp_path / "data" / "01_raw" / "demo"),
        subset="train",
        demo_dir="data/01_raw/demo",
        demo={**TINY_DEMO, "progress": False},
    ).load()
    assert len(products) == 270
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
