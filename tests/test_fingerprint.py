"""The one fingerprint: stable digests, named parts, and a message saying what changed."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rakuten_kedro.fingerprint import (
    Fingerprint,
    data_fingerprint,
    digest,
    labels_digest,
    text_digest,
)


def products(changes: dict | None = None, **columns: list) -> pd.DataFrame:
    """Two products (plus ``columns``), with ``changes`` ({(row, column): value}) made."""
    table = pd.DataFrame(
        {"row_id": [1, 2], "title": ["Poussette", "Body"], "description": ["", "coton"]}
    ).assign(**columns)
    for (row, column), value in (changes or {}).items():
        table.loc[row, column] = value
    return table


def test_digest_is_stable_and_key_order_free():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert len(digest("x")) == 32


def test_digest_tells_arrays_apart_by_dtype_and_shape():
    values = np.arange(6, dtype=np.int64)
    assert digest(values) == digest(values.copy())
    assert digest(values) != digest(values.astype(np.int32))
    assert digest(values) != digest(values.reshape(2, 3))


def test_one_character_of_one_title_changes_the_text_digest():
    assert text_digest(products()) == text_digest(products())
    assert text_digest(products()) != text_digest(products({(0, "title"): "poussette"}))
    # moving text from one field to the other is a change too
    assert text_digest(products({(1, "title"): "Bodycoton", (1, "description"): ""})) != (
        text_digest(products())
    )


def test_labels_digest_depends_on_which_row_has_which_label():
    assert labels_digest([1, 2], [0, 1]) != labels_digest([1, 2], [1, 0])


def test_changes_since_names_the_parts_that_differ():
    before = Fingerprint.of(settings={"lr": 0.1}, training_text="t1", labels="l1")
    after = Fingerprint.of(settings={"lr": 0.1}, training_text="t2", labels="l1")
    assert before.matches(before.as_dict())
    assert not after.matches(before.as_dict())
    assert after.changes_since(before.as_dict()) == "training text changed"
    both = Fingerprint.of(settings={"lr": 0.2}, training_text="t2", labels="l1")
    assert both.changes_since(before.as_dict()) == "settings and training text changed"
    assert after.changes_since(None) == "it was made by an older version of rakuten_kedro"
    assert after.changes_since(after.as_dict()) == "nothing changed"


def _image_cache(pixels: dict[int, list[str]]) -> SimpleNamespace:
    """An image cache's digest interface: per size, one content digest per row."""
    return SimpleNamespace(row_ids=[1, 2], sizes=sorted(pixels), pixel_digests=pixels.__getitem__)


def _labelled(changes: dict | None = None) -> pd.DataFrame:
    return products(changes, label=[0, 1], split=["train", "val"])


@pytest.mark.parametrize(
    "change",
    [
        {"products": {(1, "description"): "coton bio"}},
        {"products": {(0, "label"): 1}},
        {"products": {(1, "split"): "train"}},
        {"pixels": {32: ["a", "b"], 64: ["c", "x"]}},  # one photo at one size
    ],
)
def test_the_data_fingerprint_changes_with_any_text_label_split_or_photo(change):
    pixels = {32: ["a", "b"], 64: ["c", "d"]}
    same = data_fingerprint(_labelled(), _image_cache(pixels))
    assert same == data_fingerprint(_labelled(), _image_cache(dict(pixels)))
    changed = data_fingerprint(
        _labelled(change.get("products")), _image_cache(change.get("pixels", pixels))
    )
    assert changed != same
