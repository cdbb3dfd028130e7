"""Nodes of the preprocessing pipeline."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.config import ImageCacheSettings, Split, parses_params
from rakuten_kedro.datasets.image_cache import ImageCache, ImageCacheSpec
from rakuten_kedro.text_cleaning import clean_text_column


def clean_products(raw_products: pd.DataFrame) -> pd.DataFrame:
    """Clean titles and descriptions, kept in separate columns.

    Args:
        raw_products: Products as read by ``RakutenRawDataset``.

    Returns:
        The same rows and columns, with ``title`` and ``description`` cleaned.
    """
    products = raw_products.copy()
    for column in ("title", "description"):
        products[column] = clean_text_column(products[column])
    return products


def encode_labels() -> dict[str, list[int]]:
    """The label encoding: label index ``i`` is ``codes[i]``.

    Fixed to the 27 known codes, not to the codes present, so every model outputs the same
    27 probability columns whatever subset of the data it saw.

    Returns:
        ``{"codes": [10, 40, …, 2905]}``.
    """
    return {"codes": list(PRDTYPECODES)}


@parses_params
def split_train_validation(
    products: pd.DataFrame, label_encoding: dict[str, list[int]], split_options: Split
) -> pd.DataFrame:
    """Add the label index and a stratified train/validation split.

    Args:
        products: Clean labelled products with ``prdtypecode``.
        label_encoding: ``{"codes": [...]}`` from ``encode_labels``.
        split_options: The ``preprocessing.split`` block.

    Returns:
        The products with ``label`` (int) and ``split`` (``train`` or ``val``).
    """
    index_of_code = {code: index for index, code in enumerate(label_encoding["codes"])}
    labelled = products.copy()
    labelled["label"] = labelled["prdtypecode"].map(index_of_code).astype("int64")
    counts = labelled["prdtypecode"].value_counts()
    too_small = counts[counts < 2]
    if not too_small.empty:
        raise ValueError(
            f"Code(s) {too_small.index.tolist()} have a single product: a stratified "
            "train/validation split needs at least 2 products per code."
        )
    _, validation_rows = train_test_split(
        labelled.index,
        test_size=split_options.validation_fraction,
        stratify=labelled["label"],
        random_state=split_options.seed,
    )
    labelled["split"] = "train"
    labelled.loc[validation_rows, "split"] = "val"
    return labelled


def select_validation_products(products: pd.DataFrame) -> pd.DataFrame:
    """The validation rows of ``products``: what every model is scored on and fusion learns from.

    Args:
        products: The labelled products with ``split``.

    Returns:
        The ``val`` rows, in table order.
    """
    return products[products["split"] == "val"].reset_index(drop=True)


@parses_params
def describe_image_cache(
    products: pd.DataFrame, cache_options: ImageCacheSettings
) -> ImageCacheSpec:
    """Say which photos to cache at which sizes; ``ImageCacheDataset`` does the decoding.

    Args:
        products: A product table with ``row_id`` and ``image_path``.
        cache_options: The ``preprocessing.image_cache`` block (``sizes``, ``on_bad_image``).

    Returns:
        The cache specification, in table order.
    """
    return ImageCacheSpec(
        row_ids=products["row_id"].to_numpy(dtype="int64"),
        image_paths=tuple(products["image_path"].astype(str)),
        sizes=tuple(cache_options.sizes),
        on_bad_image=cache_options.on_bad_image,
    )


def report_image_issues(image_cache: ImageCache, test_image_cache: ImageCache) -> pd.DataFrame:
    """List the products whose photo was replaced by a placeholder.

    Args:
        image_cache: The labelled products' cache.
        test_image_cache: The test products' cache.

    Returns:
        ``subset, row_id, image_path, problem, action`` — empty when every photo was fine.
    """
    return pd.concat(
        [
            image_cache.issues.assign(subset="labelled"),
            test_image_cache.issues.assign(subset="test"),
        ],
        ignore_index=True,
    )[["subset", "row_id", "image_path", "problem", "action"]]
