"""A request table becomes the folder the predict pipeline reads, or a clear error."""

from __future__ import annotations

import base64

import pandas as pd
import pytest

from rakuten_kedro.datasets.new_products import NewProductsDataset
from rakuten_kedro.serving.requests import RequestError, write_request_folder

PHOTO = b"\xff\xd8 not really a jpeg"


def test_records_become_a_csv_and_photo_files_the_predict_reader_reads(tmp_path):
    request = pd.DataFrame({
        "title": ["Poussette", "Roman", "Piscine"],
        "description": ["légère", None, ""],
        "image": [base64.b64encode(PHOTO).decode(), None, None],
        "image_path": [None, "/srv/photos/roman.jpg", None],
        "productid": [11, None, 33],
    })  # fmt: skip
    products = NewProductsDataset(input_dir=str(write_request_folder(request, tmp_path))).load()
    assert products["title"].tolist() == ["Poussette", "Roman", "Piscine"]
    assert products["description"].tolist() == ["légère", "", ""]
    assert products["productid"].tolist() == [11, -1, 33]  # unknown id: -1, as in a CSV
    assert products["row_id"].tolist() == [0, 1, 2]
    assert (tmp_path / "photos" / "0.img").read_bytes() == PHOTO
    assert products["image_path"].tolist()[:2] == [
        str(tmp_path / "photos" / "0.img"), "/srv/photos/roman.jpg"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"title": None}, "record 1: title must be a non-empty string"),
        ({"title": "  "}, "record 1: title must be a non-empty string"),
        ({"title": "x", "image": "%%%"}, "record 1: image is not valid base64"),
        ({"title": "x", "image": "AAAA", "image_path": "/a.jpg"}, "record 1: give the photo"),
    ],
)
def test_a_malformed_record_is_refused_naming_it(tmp_path, record, message):
    request = pd.DataFrame([{"title": "Poussette"}, record])
    with pytest.raises(RequestError, match=message):
        write_request_folder(request, tmp_path)
