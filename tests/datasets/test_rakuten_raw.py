"""RakutenRawDataset: both layouts load the same products; each defect gives its message."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DatasetError

from rakuten_kedro.datasets import RakutenRawDataset
from tests.fixtures import write_challengedata_folder, write_sigir_folder

COLUMNS = ["row_id", "productid", "imageid", "title", "description", "image_path"]


@pytest.fixture
def challengedata(tmp_path: Path) -> Path:
    return write_challengedata_folder(tmp_path / "challengedata")


def load(folder: Path, subset: str = "train", source: str = "challengedata", **kwargs):
    return RakutenRawDataset(source=source, raw_dir=str(folder), subset=subset, **kwargs).load()


def folder_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_challengedata_train_is_normalised(challengedata: Path):
    products = load(challengedata)
    assert list(products.columns) == [*COLUMNS, "prdtypecode"]
    assert len(products) == 27 * 4
    assert products["row_id"].tolist() == list(range(108))
    assert products["prdtypecode"].nunique() == 27
    assert products["description"].eq("").sum() == 27  # NaN descriptions become ""
    assert all(Path(p).is_file() for p in products["image_path"])
    assert Path(products["image_path"].iloc[0]).name == "image_900000_product_100000.jpg"


def test_challengedata_test_ids_continue(challengedata: Path):
    test = load(challengedata, "test")
    assert list(test.columns) == COLUMNS
    assert test["row_id"].min() == 108 and len(test) == 10


def test_sigir_layout_gives_the_same_products(tmp_path: Path, challengedata: Path):
    sigir = load(write_sigir_folder(tmp_path / "sigir"), source="sigir")
    challenge = load(challengedata)
    columns = ["row_id", "productid", "imageid", "title", "description", "prdtypecode"]
    pd.testing.assert_frame_equal(sigir[columns], challenge[columns])
    test = load(tmp_path / "sigir", "test", source="sigir")
    assert len(test) == 10 and "image_test" in test["image_path"].iloc[0]


def test_loading_never_writes_into_the_raw_folder(challengedata: Path):
    before = folder_hashes(challengedata)
    load(challengedata)
    load(challengedata, "test")
    with pytest.raises(DatasetError, match="read-only"):
        RakutenRawDataset(source="challengedata", raw_dir=str(challengedata), subset="train").save(
            pd.DataFrame()
        )
    assert folder_hashes(challengedata) == before


def test_missing_raw_dir_says_how_to_fix(tmp_path: Path):
    with pytest.raises(DatasetError, match=r"does not exist.*data.raw_dir=/path"):
        load(tmp_path / "nowhere")


def test_unknown_source_lists_the_choices(tmp_path: Path):
    with pytest.raises(DatasetError, match="Unknown data.source 'kaggle'"):
        RakutenRawDataset(source="kaggle", raw_dir=str(tmp_path), subset="train")


def test_missing_file_is_named(challengedata: Path):
    (challengedata / "Y_train_CVw08PX.csv").unlink()
    with pytest.raises(DatasetError, match=r"Y_train_CVw08PX.csv is missing"):
        load(challengedata)


def test_the_folder_and_layout_problems_are_described_without_reading_the_files(
    challengedata: Path, tmp_path: Path
):
    def problems(folder: Path, subset: str = "train", source: str = "challengedata", **kwargs):
        dataset = RakutenRawDataset(source=source, raw_dir=str(folder), subset=subset, **kwargs)
        return dataset.describe_problems()

    assert problems(challengedata) == [] and problems(challengedata, "test") == []
    (challengedata / "Y_train_CVw08PX.csv").unlink()
    shutil.rmtree(challengedata / "images" / "image_train")
    missing_file, missing_photos = problems(challengedata)  # both, in one go
    assert "Y_train_CVw08PX.csv is missing" in missing_file
    assert "The train photo folder" in missing_photos and "does not exist" in missing_photos
    (challengedata / "X_train_update.csv").write_text("not, read")  # only looked for
    assert len(problems(challengedata)) == 2
    [nowhere] = problems(tmp_path / "nowhere")
    assert "does not exist" in nowhere and "data.raw_dir=/path" in nowhere
    demo = tmp_path / "demo"  # the demo folder: generated on the first load, not a problem
    assert problems(demo, source="demo", demo_dir=str(demo)) == [] and not demo.exists()


def test_wrong_source_for_the_folder_is_suggested(challengedata: Path):
    with pytest.raises(DatasetError, match=r"X_train.tsv is missing.*data.source"):
        load(challengedata, source="sigir")


def test_missing_column_is_named(challengedata: Path):
    path = challengedata / "X_train_update.csv"
    pd.read_csv(path, index_col=0).drop(columns="imageid").to_csv(path)
    with pytest.raises(DatasetError, match=r"X_train_update.csv lacks column\(s\) \['imageid'\]"):
        load(challengedata)


def test_duplicate_ids_are_named(challengedata: Path):
    for name in ("X_train_update.csv", "Y_train_CVw08PX.csv"):
        table = pd.read_csv(challengedata / name, index_col=0)
        table.index = [*table.index[:-1], 5]
        table.to_csv(challengedata / name)
    with pytest.raises(DatasetError, match=r"1 duplicate row_id value\(s\), e.g. \[5\]"):
        load(challengedata)


def test_x_and_y_with_different_lengths(challengedata: Path):
    path = challengedata / "Y_train_CVw08PX.csv"
    pd.read_csv(path, index_col=0).iloc[:-3].to_csv(path)
    with pytest.raises(DatasetError, match="has 108 products but .* has 105 labels"):
        load(challengedata)


def test_x_and_y_misaligned_names_the_row(challengedata: Path):
    path = challengedata / "Y_train_CVw08PX.csv"
    labels = pd.read_csv(path, index_col=0)
    labels.index = [*labels.index[:10], 999, *labels.index[11:]]
    labels.to_csv(path)
    with pytest.raises(DatasetError, match="misaligned: data row 11 has id 10 in X but 999 in Y"):
        load(challengedata)


def test_label_outside_the_27_codes(challengedata: Path):
    path = challengedata / "Y_train_CVw08PX.csv"
    labels = pd.read_csv(path, index_col=0)
    labels.loc[7, "prdtypecode"] = 1234
    labels.to_csv(path)
    with pytest.raises(DatasetError, match=r"1 label\(s\) outside the 27 .*row_id 7 -> 1234"):
        load(challengedata)


def test_non_integer_id_names_the_row(challengedata: Path):
    path = challengedata / "X_train_update.csv"
    table = pd.read_csv(path, index_col=0)
    table["productid"] = table["productid"].astype(object)
    table.loc[3, "productid"] = "abc"
    table.to_csv(path)
    with pytest.raises(DatasetError, match=r"column 'productid' must hold integers.*'abc'"):
        load(challengedata)


def test_missing_photo_error_or_placeholder(challengedata: Path, caplog):
    products = load(challengedata)
    Path(products["image_path"].iloc[4]).unlink()
    with pytest.raises(DatasetError, match=r"1 of 108 train photo\(s\) missing: row_id 4"):
        load(challengedata)
    kept = load(challengedata, on_bad_image="placeholder")
    assert len(kept) == 108
    assert "Using blank placeholders" in caplog.text


def test_bom_is_read_and_a_latin1_file_needs_the_windows_1252_setting(challengedata: Path):
    path = challengedata / "X_train_update.csv"
    text = path.read_text(encoding="utf-8").replace("Puzzle", "Pu\u00e9zle")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load(challengedata)["title"].str.contains("Pu\u00e9zle").sum() == 27
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DatasetError, match=r"X_train_update.csv is not UTF-8 on 27 line\(s\)"):
        load(challengedata)
    products = load(challengedata, non_utf8_lines="windows-1252")
    assert products["title"].str.contains("Pu\u00e9zle").sum() == 27


def test_empty_test_file(challengedata: Path):
    (challengedata / "X_test_update.csv").write_text(",designation,description,productid,imageid\n")
    with pytest.raises(DatasetError, match="header but no products"):
        load(challengedata, "test")
