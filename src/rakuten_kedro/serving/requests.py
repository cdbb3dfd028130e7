"""A request to the served model: a table of products, written as the folder ``predict`` reads.

Each record has a ``title`` and optionally a ``description``, ``productid``, ``imageid`` and its
photo, either ``image`` (the file's bytes, base64-encoded) or ``image_path`` (a file on the
serving machine). The records become one CSV plus photo files in a scratch folder, which the
predict pipeline's own reader (``NewProductsDataset``) then checks as it checks any CSV. A
missing or unreadable photo is not an error: that product is answered from its text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

#: Columns a request may have (``title`` is required), with their MLflow schema types; MLflow's
#: schema enforcement drops any other column before the model sees the request.
REQUEST_COLUMNS: dict[str, str] = {
    "title": "string",
    "description": "string",
    "image": "string",
    "image_path": "string",
    "productid": "long",
    "imageid": "long",
}
#: The CSV file the request folder holds (``NewProductsDataset`` reads the only CSV).
PRODUCTS_FILE = "products.csv"
_PHOTOS = "photos"


class RequestError(ValueError):
    """A request the model cannot answer; the message names the record and the field."""


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value != ""


def _photo_bytes(value: Any, record: int) -> bytes:
    if not isinstance(value, str):
        raise RequestError(f"record {record}: image must be a base64 string, got {value!r:.40}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RequestError(f"record {record}: image is not valid base64 ({error})") from error


def _check_record(record: int, row: Mapping[str, Any]) -> None:
    title = row.get("title")
    if not isinstance(title, str) or not title.strip():
        raise RequestError(f"record {record}: title must be a non-empty string, got {title!r:.40}")
    if _present(row.get("image")) and _present(row.get("image_path")):
        raise RequestError(f"record {record}: give the photo as image or image_path, not both")


def write_request_folder(request: pd.DataFrame, folder: str | Path) -> Path:
    """Writes ``request`` as ``folder/products.csv`` and its photos, for ``NewProductsDataset``.

    Args:
        request: One product per row (columns of :data:`REQUEST_COLUMNS`).
        folder: An empty scratch folder.

    Returns:
        ``folder``.

    Raises:
        RequestError: A record without a title, a photo that is not base64, or both ``image``
            and ``image_path``; the message names the record (0-based).
    """
    folder = Path(folder)
    if "title" not in request.columns or request.empty:
        raise RequestError("a request is a non-empty table of products with a title column")
    (folder / _PHOTOS).mkdir()
    paths = []
    for record, row in enumerate(request.to_dict("records")):
        _check_record(record, row)
        if _present(row.get("image")):
            photo = folder / _PHOTOS / f"{record}.img"
            photo.write_bytes(_photo_bytes(row["image"], record))
            paths.append(str(photo))
        elif _present(row.get("image_path")):
            paths.append(str(Path(str(row["image_path"])).expanduser().resolve()))
        else:
            paths.append("")
    table = pd.DataFrame({"row_id": range(len(request)), "title": request["title"]})
    if "description" in request.columns:
        table["description"] = request["description"].to_numpy()
    for column in ("productid", "imageid"):  # an unknown id is -1, as in a CSV without ids
        if column in request.columns:
            table[column] = request[column].astype("Int64").fillna(-1).to_numpy()
    table["image_path"] = paths
    table.to_csv(folder / PRODUCTS_FILE, index=False)
    return folder
