"""Nodes of the denoising pipeline (the work is done in ``rakuten_kedro.vision.denoise``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rakuten_kedro.config import Denoising, TfidfModel, parses_params
from rakuten_kedro.tables import label_codes, probs_matrix, probs_table, rows_in_split
from rakuten_kedro.text.tfidf import tfidf_out_of_fold
from rakuten_kedro.vision.data import ImageCacheLike, cache_images, positions_of
from rakuten_kedro.vision.denoise import (
    denoising_folds,
    fuse_probabilities,
    label_issues_table,
    out_of_fold_probs,
    rank_label_issues,
    score_flags,
)
from rakuten_kedro.vision.plots import plot_top_flags
from rakuten_kedro.vision.train import weights_source

logger = logging.getLogger(__name__)


@parses_params
def check_denoising_weights(params: Denoising) -> str:
    """Fail fast, before any data is loaded, when pretrained weights are not on this machine.

    Args:
        params: The ``denoising`` parameters (its ``model`` block is checked).

    Returns:
        Where the initial weights come from (``"from scratch"`` or a file path).
    """
    source = weights_source(params.model, parameter="denoising.model")
    logger.info("denoising: initial weights: %s", source)
    return source


@parses_params
def cross_validate_image_model(  # noqa: PLR0917 - Kedro passes node inputs positionally
    denoising_initial_weights: str,
    products: pd.DataFrame,
    image_cache: ImageCacheLike,
    label_encoding: dict[str, Any],
    params: Denoising,
    checkpoints: Path,
) -> pd.DataFrame:
    """Out-of-fold class probabilities of every training product (k-fold image models).

    Args:
        denoising_initial_weights: From ``check_denoising_weights`` (orders the check first).
        products: Labelled products (``row_id``, ``label``, ``split``).
        image_cache: The labelled products' image cache.
        label_encoding: ``{"codes": [...]}``.
        params: The ``denoising`` block.
        checkpoints: The checkpoint root (fold ``k`` resumes from ``denoising/fold{k}``).

    Returns:
        ``row_id`` + one probability column per code, one row per training product.
    """
    codes = label_codes(label_encoding)
    train, val = rows_in_split(products, "train"), rows_in_split(products, "val")
    size = params.train.cache_size
    images = cache_images(image_cache, size)
    labels = train["label"].to_numpy()
    folds = denoising_folds(labels, params, codes)
    probs = out_of_fold_probs(
        images,
        positions_of(image_cache, train["row_id"]),
        labels,
        folds,
        val_positions=positions_of(image_cache, val["row_id"]),
        val_labels=val["label"].to_numpy(),
        num_classes=len(codes),
        params=params,
        checkpoint_root=Path(checkpoints) / "denoising",
        pixel_digests=image_cache.pixel_digests(size),
    )
    accuracy = float((probs.argmax(1) == labels).mean())
    logger.info("denoising: out-of-fold agreement with the given labels %.3f", accuracy)
    return probs_table(train["row_id"].to_numpy(), probs, codes)


@parses_params
def cross_validate_text_model(
    products: pd.DataFrame,
    label_encoding: dict[str, Any],
    params: Denoising,
    tfidf: TfidfModel,
) -> pd.DataFrame:
    """Out-of-fold TF-IDF probabilities of every training product, on the image models' folds.

    Only ``denoising.probabilities: image_and_text`` needs them. Kedro builds the pipeline
    before it reads parameters, so this node is always in it; with ``image`` it fits nothing
    and returns an empty table (no rows, the same columns), which ``find_label_issues`` does
    not read: an ``image`` run costs no TF-IDF fits and leaves no stale probabilities behind.
    Nothing is kept between runs either (so no reuse to key on the texts and labels): 4 folds
    took 3 to 10 s on the accuracy benchmark's 2,700 training rows (not measured on the 76k
    real ones).

    Args:
        products: Labelled products (``row_id``, ``title``, ``description``, ``label``,
            ``split``).
        label_encoding: ``{"codes": [...]}``.
        params: The ``denoising`` block (``probabilities``, ``folds``, ``seed``).
        tfidf: The TF-IDF model settings: the ``text_tfidf`` variant's ``model`` block, not
            repeated under ``denoising``.

    Returns:
        ``row_id`` + one probability column per code, one row per training product (none with
        ``probabilities: image``).
    """
    codes = label_codes(label_encoding)
    train = rows_in_split(products, "train")
    if params.probabilities == "image":
        logger.info(
            "denoising: cleanlab ranks the image probabilities (denoising.probabilities: "
            "image); no TF-IDF out-of-fold probabilities"
        )
        return probs_table(np.empty(0, dtype=np.int64), np.empty((0, len(codes))), codes)
    folds = denoising_folds(train["label"].to_numpy(), params, codes)
    probs = tfidf_out_of_fold(train, folds, tfidf, len(codes))
    accuracy = float((probs.argmax(1) == train["label"].to_numpy()).mean())
    logger.info("denoising: TF-IDF out-of-fold agreement with the given labels %.3f", accuracy)
    return probs_table(train["row_id"].to_numpy(), probs, codes)


def ranking_probabilities(
    train: pd.DataFrame,
    image_oof: pd.DataFrame,
    text_oof: pd.DataFrame,
    codes: list[int],
    probabilities: str,
) -> np.ndarray:
    """What cleanlab ranks: the image out-of-fold probabilities, or their fusion with the text's.

    Args:
        train: The training products (``row_id``), in table order.
        image_oof: ``denoising_oof_probs``.
        text_oof: ``denoising_text_oof_probs`` (read only with ``image_and_text``).
        codes: Product type codes in label order.
        probabilities: ``denoising.probabilities``.

    Returns:
        ``(n_train, C)`` probabilities, rows in ``train`` order.
    """
    row_ids = train["row_id"].to_numpy()
    image = probs_matrix(image_oof, codes, row_ids, name="denoising_oof_probs")
    if probabilities == "image":
        return image
    if text_oof.empty and len(row_ids):
        raise ValueError(
            "denoising_text_oof_probs is empty: it was written with denoising.probabilities: "
            "image; run cross_validate_text_model_node again with image_and_text"
        )
    text = probs_matrix(text_oof, codes, row_ids, name="denoising_text_oof_probs")
    return fuse_probabilities(text, image)


@parses_params
def find_label_issues(
    products: pd.DataFrame,
    denoising_oof_probs: pd.DataFrame,
    denoising_text_oof_probs: pd.DataFrame,
    label_encoding: dict[str, Any],
    params: Denoising,
) -> pd.DataFrame:
    """Rank the training products whose given code the out-of-fold probabilities contradict
    (cleanlab): the images', or with ``probabilities: image_and_text`` the images' and the
    text's together (:func:`rakuten_kedro.vision.denoise.fuse_probabilities`).

    Args:
        products: Labelled products (``row_id``, ``productid``, ``imageid``, ``label``,
            ``split``).
        denoising_oof_probs: Image out-of-fold probabilities of the training products.
        denoising_text_oof_probs: TF-IDF out-of-fold probabilities (empty, and not read, with
            ``probabilities: image``).
        label_encoding: ``{"codes": [...]}``.
        params: The ``denoising`` block (``probabilities``, ``filter_by``, ``ranked_by``,
            ``drop_fraction``).

    Returns:
        The ``label_issues`` table (``rank``, ``row_id``, ``productid``, ``imageid``,
        ``given_prdtypecode``, ``suggested_prdtypecode``, ``label_quality``, …, ``dropped``);
        its probabilities are the ranked ones.
    """
    codes = label_codes(label_encoding)
    train = rows_in_split(products, "train")
    probs = ranking_probabilities(
        train, denoising_oof_probs, denoising_text_oof_probs, codes, params.probabilities
    )
    labels = train["label"].to_numpy()
    ranked, quality = rank_label_issues(
        labels, probs, filter_by=params.filter_by, ranked_by=params.ranked_by
    )
    table = label_issues_table(
        train, probs, ranked, quality, codes,
        drop_fraction=params.drop_fraction, drop_margin=params.drop_margin,
    )  # fmt: skip
    logger.info(
        "denoising: %d of %d training products flagged (probabilities: %s), %d dropped",
        len(table),
        len(train),
        params.probabilities,
        int(table["dropped"].sum()),
    )
    return table


def select_clean_training_ids(products: pd.DataFrame, label_issues: pd.DataFrame) -> pd.DataFrame:
    """The training products kept after removing the dropped label issues.

    Args:
        products: Labelled products (``row_id``, ``split``).
        label_issues: Ranked issues with their ``dropped`` flag.

    Returns:
        A one-column table ``row_id`` of the kept training products, in table order.
    """
    train = rows_in_split(products, "train")
    dropped = label_issues.loc[label_issues["dropped"].astype(bool), "row_id"]
    kept = train.loc[~train["row_id"].isin(dropped), ["row_id"]].reset_index(drop=True)
    return kept


@parses_params
def plot_label_issues(
    label_issues: pd.DataFrame, image_cache: ImageCacheLike, params: Denoising
) -> Figure:
    """Photos of the top flagged products with their given and suggested codes.

    Args:
        label_issues: Ranked issues.
        image_cache: The labelled products' image cache (its largest size is shown).
        params: The ``denoising`` block (``figure_top``: how many products to show).

    Returns:
        The figure.
    """
    top = label_issues.sort_values("rank").head(params.figure_top)
    images = image_cache.images(max(image_cache.sizes))
    photos = np.asarray(images[positions_of(image_cache, top["row_id"])])
    return plot_top_flags(top, photos)


@parses_params
def score_denoising(
    label_issues: pd.DataFrame,
    products: pd.DataFrame,
    demo_label_noise: pd.DataFrame | None,
    params: Denoising,
) -> dict[str, Any]:
    """Score the flags against the demo generator's injected flips, when they are known.

    This is the only node that reads the truth file: denoising itself never sees it.

    Args:
        label_issues: Ranked issues with their ``dropped`` flag.
        products: Labelled products (``row_id``, ``productid``, ``split``).
        demo_label_noise: The generator's record (``row_id``, ``productid``, ``flipped``…),
            or None for data without one.
        params: The ``denoising`` block (``probabilities``, ``drop_fraction`` and
            ``drop_margin``, which decide what is dropped, are recorded).

    Returns:
        ``{"truth": "demo_label_noise", "probabilities", "drop_fraction", "drop_margin",
        "flip_rate",
        "flagged": {precision, recall, …}, "dropped": {…}, "top_n_flipped": {…}}``, or
        ``{"truth": "none", …}`` with counts only.
    """
    train = rows_in_split(products, "train")
    counts = {
        "probabilities": params.probabilities,
        "drop_fraction": params.drop_fraction,
        "drop_margin": params.drop_margin,
        "n_train": len(train),
        "n_flagged": len(label_issues),
        "n_dropped": int(label_issues["dropped"].astype(bool).sum()),
    }
    if demo_label_noise is None:
        return {"truth": "none", **counts}
    truth = demo_label_noise.set_index("row_id")
    same = truth.reindex(train["row_id"])["productid"].to_numpy() == train["productid"].to_numpy()
    if not same.all():
        # A demo truth file left beside other data: scoring against it would be meaningless.
        logger.warning("the label-noise truth file does not describe these products; not scored")
        return {"truth": "none (truth file belongs to other products)", **counts}
    scores = score_flags(label_issues, demo_label_noise, train["row_id"])
    logger.info(
        "denoising vs injected flips: flip rate %.3f; flagged precision %.3f recall %.3f; "
        "dropped precision %.3f recall %.3f; precision at %d %.3f",
        scores["flip_rate"],
        scores["flagged"]["precision"],
        scores["flagged"]["recall"],
        scores["dropped"]["precision"],
        scores["dropped"]["recall"],
        scores["n_flipped"],
        scores["top_n_flipped"]["precision"],
    )
    return {"truth": "demo_label_noise", **counts, **scores}
