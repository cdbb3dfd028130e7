"""Find mislabelled training images with confident learning (cleanlab), as the winners did.

Out-of-fold class probabilities from a k-fold cross-validated image model (the project's one
loop, ``training.cross_validation``, each fold picking its epoch on the validation split) go
to cleanlab's ``find_label_issues`` (``prune_by_noise_rate``, ranked by ``normalized_margin``);
the top ``drop_fraction`` of the ranked issues is removed from the training data of the variants
that learn from denoised ids, or (``drop_margin``) only those of them that the probabilities
divided by the class prior still contradict clearly (:func:`prior_corrected_margin`).
With ``denoising.probabilities: image_and_text`` cleanlab ranks instead the product of those
and the TF-IDF model's out-of-fold probabilities on the same folds (:func:`denoising_folds`,
``text.tfidf.tfidf_out_of_fold``), renormalised (:func:`fuse_probabilities`).
On the demo data, :func:`score_flags` measures how many of the generator's injected flips were
found.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores

from rakuten_kedro.codes import PRDTYPECODE_NAMES
from rakuten_kedro.config import Denoising, parses_params
from rakuten_kedro.models.image import build_image_classifier
from rakuten_kedro.training.cross_validation import TrainFold, cross_validate
from rakuten_kedro.training.folds import assign_folds
from rakuten_kedro.training.metrics import log_class_prior
from rakuten_kedro.vision.train import fit_image_classifier, predict_image_classifier

logger = logging.getLogger(__name__)

#: Columns of ``label_issues.csv`` (docs/method.md §3, the codes' names, the cleanlab score,
#: bookkeeping).
LABEL_ISSUE_COLUMNS = [
    "rank",
    "row_id",
    "productid",
    "imageid",
    "given_prdtypecode",
    "suggested_prdtypecode",
    "given_category",
    "suggested_category",
    "label_quality",
    "given_prob",
    "suggested_prob",
    "margin",
    "dropped",
]


#: Floor of each fused probability before renormalising: a class that one model gives exactly
#: 0 (e.g. TF-IDF for a class absent from a fold's training rows) keeps a trace of the other's.
FUSION_FLOOR = 1e-6


@parses_params
def denoising_folds(
    labels: np.ndarray, params: Denoising, codes: Sequence[int] | None = None
) -> np.ndarray:
    """The fold of every training row in the denoising cross-validation (image and text).

    Args:
        labels: Given label of every training row, in table order.
        params: The ``denoising`` block (``folds``, ``seed``).
        codes: Product type codes in label order (to name small classes in warnings).

    Returns:
        ``(N,)`` fold index of every row (``training.folds.assign_folds``).
    """
    return assign_folds(
        np.asarray(labels),
        params.folds,
        params.seed,
        codes=codes,
        rows="training rows",
        setting="denoising.folds",
    )


def fuse_probabilities(*probs: np.ndarray, floor: float = FUSION_FLOOR) -> np.ndarray:
    """The product of class-probability arrays, each entry floored, renormalised per row.

    ``fuse_probabilities(text, image)`` is what cleanlab ranks with ``denoising.probabilities:
    image_and_text``: a class both models find unlikely gets a very low fused probability, so
    a given label that the text *and* the photo contradict stands out. One array alone is just
    floored and renormalised.

    Args:
        *probs: ``(N, C)`` probability arrays, same shape.
        floor: Each fused entry is at least this before renormalising (no row of zeros).

    Returns:
        ``(N, C)`` rows summing to 1, in the inputs' float type.
    """
    if not probs:
        raise ValueError("fuse_probabilities needs at least one probability array")
    shapes = {np.shape(p) for p in probs}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:  # noqa: PLR2004 - (N, C)
        raise ValueError(f"probability arrays must be (N, C) of one shape, got {sorted(shapes)}")
    fused = np.asarray(probs[0])
    for other in probs[1:]:
        fused = fused * np.asarray(other)
    fused = np.clip(fused, floor, None)
    return fused / fused.sum(axis=1, keepdims=True)


def rank_label_issues(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    filter_by: str = "prune_by_noise_rate",
    ranked_by: str = "normalized_margin",
) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's label issues, most likely errors first, and every row's label quality.

    Args:
        labels: Given label index per row.
        pred_probs: Out-of-fold class probabilities (n, K); rows sum to 1.
        filter_by: cleanlab ``filter_by`` method.
        ranked_by: cleanlab ranking method (also used for the quality scores).

    Returns:
        ``(ranked_indices, quality)``: row indices of the issues in rank order, and the
        label-quality score of every row (low = likely mislabelled).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if pred_probs.shape[0] != len(labels):
        raise ValueError(f"{len(labels)} labels but {pred_probs.shape[0]} rows of probabilities")
    ranked = find_label_issues(
        labels,
        pred_probs,
        filter_by=filter_by,
        return_indices_ranked_by=ranked_by,
        n_jobs=1,  # cleanlab's multiprocessing costs more than it saves on a few thousand rows
    )
    quality = get_label_quality_scores(labels, pred_probs, method=ranked_by)
    return np.asarray(ranked, dtype=np.int64), quality


def prior_corrected_margin(
    pred_probs: np.ndarray, given: np.ndarray, suggested: np.ndarray, log_prior: np.ndarray
) -> np.ndarray:
    """How strongly the probabilities, each divided by its class's frequency, favour the
    suggested code over the given one: ``log(p_s / π_s) − log(p_g / π_g)``, in nats.

    A class that few training rows carry gets little probability from models trained on them,
    so cleanlab flags many of its genuine rows; dividing by the prior asks instead whether the
    evidence beats what the class's rarity alone explains (``denoising.drop_margin``).

    Args:
        pred_probs: ``(n, K)`` probabilities of the rows.
        given: ``(n,)`` given label index of each row.
        suggested: ``(n,)`` suggested label index of each row.
        log_prior: ``(K,)`` ``log π`` (``training.metrics.log_class_prior``).

    Returns:
        ``(n,)`` margins; large = the given label is very likely wrong.
    """
    rows = np.arange(len(given))
    logs = np.log(np.clip(pred_probs, FUSION_FLOOR, None)) - log_prior
    return logs[rows, suggested] - logs[rows, given]


def label_issues_table(  # noqa: PLR0913 - the table's inputs and its two drop rules
    train_products: pd.DataFrame,
    pred_probs: np.ndarray,
    ranked: np.ndarray,
    quality: np.ndarray,
    codes: Sequence[int],
    *,
    drop_fraction: float,
    drop_margin: float | None = None,
) -> pd.DataFrame:
    """The ranked issues as a table; those to remove from training are marked ``dropped``.

    Args:
        train_products: Training rows (``row_id, productid, imageid, label``), aligned with
            ``pred_probs``.
        pred_probs: Out-of-fold probabilities (n, K).
        ranked: Issue row positions in rank order (from :func:`rank_label_issues`).
        quality: Label-quality score of every row.
        codes: Product type codes in label order.
        drop_fraction: Share of the ranked issues (from the top) that may be dropped.
        drop_margin: Of those, only the issues whose :func:`prior_corrected_margin` is at least
            this are dropped (``None``: all of them). The prior is the training rows' given-label
            frequency.

    Returns:
        One row per issue with :data:`LABEL_ISSUE_COLUMNS`, ``rank`` starting at 1; the
        ``*_category`` columns name the codes (``codes.PRDTYPECODE_NAMES``).
    """
    if not 0 <= drop_fraction <= 1:
        raise ValueError(f"drop_fraction must be in [0, 1], got {drop_fraction}")
    codes = np.asarray(codes)
    names = np.array([PRDTYPECODE_NAMES.get(int(code), "") for code in codes], dtype=object)
    rows = train_products.iloc[ranked]
    given = rows["label"].to_numpy(dtype=np.int64)
    # The suggestion is the most probable *other* code (argmax may equal the given one when
    # cleanlab flags a row on calibrated thresholds rather than on the argmax).
    others = pred_probs[ranked].copy()
    others[np.arange(len(ranked)), given] = -1
    suggested = others.argmax(axis=1)
    log_prior = log_class_prior(train_products["label"].to_numpy(), len(codes))
    margin = prior_corrected_margin(pred_probs[ranked], given, suggested, log_prior)
    dropped = np.arange(len(ranked)) < int(round(drop_fraction * len(ranked)))
    if drop_margin is not None:
        dropped &= margin >= drop_margin
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1),
            "row_id": rows["row_id"].to_numpy(),
            "productid": rows["productid"].to_numpy(),
            "imageid": rows["imageid"].to_numpy(),
            "given_prdtypecode": codes[given],
            "suggested_prdtypecode": codes[suggested],
            "given_category": names[given],
            "suggested_category": names[suggested],
            "label_quality": quality[ranked].astype(float),
            "given_prob": pred_probs[ranked, given].astype(float),
            "suggested_prob": pred_probs[ranked, suggested].astype(float),
            "margin": margin.astype(float),
            "dropped": dropped,
        },
        columns=LABEL_ISSUE_COLUMNS,
    )


def score_flags(
    label_issues: pd.DataFrame, truth: pd.DataFrame, train_row_ids: Sequence[int]
) -> dict:
    """Precision and recall of the flagged (and of the dropped) rows against known flips.

    Args:
        label_issues: Output of :func:`label_issues_table`.
        truth: The demo generator's noise record (``row_id, productid, flipped``, …).
        train_row_ids: Row ids of the training split (denoising never sees the others).

    Returns:
        Counts, the flip rate, and precision/recall for all flags, the dropped flags and the
        top ``n_flipped`` flags; ``lift`` = precision / flip rate (1 = no better than chance).
    """
    truth = truth.set_index("row_id")
    train_ids = pd.Index(np.asarray(train_row_ids))
    missing = train_ids.difference(truth.index)
    if len(missing):
        raise ValueError(
            f"the label-noise truth file lacks {len(missing)} training row_id (e.g. "
            f"{missing[:3].tolist()}): it belongs to other data"
        )
    flipped = truth.loc[train_ids, "flipped"].astype(bool)
    n_flipped, n_train = int(flipped.sum()), len(train_ids)
    flip_rate = n_flipped / n_train if n_train else float("nan")

    def precision_recall(row_ids: np.ndarray) -> dict:
        hits = int(flipped.loc[row_ids].sum()) if len(row_ids) else 0
        precision = hits / len(row_ids) if len(row_ids) else float("nan")
        return {
            "n": len(row_ids),
            "true_flips": hits,
            "precision": precision,
            "recall": hits / n_flipped if n_flipped else float("nan"),
            "lift": precision / flip_rate if flip_rate else float("nan"),
        }

    ranked_ids = label_issues.sort_values("rank")["row_id"].to_numpy()
    return {
        "n_train": n_train,
        "n_flipped": n_flipped,
        "flip_rate": flip_rate,
        "flagged": precision_recall(ranked_ids),
        "dropped": precision_recall(
            label_issues.loc[label_issues["dropped"].astype(bool), "row_id"].to_numpy()
        ),
        "top_n_flipped": precision_recall(ranked_ids[:n_flipped]),
    }


@dataclass
class ImageFoldModel:
    """One fold's image classifier; it predicts cache rows (centre crop).

    Attributes:
        model: The classifier with its best epoch's weights.
        images: The cache array it reads its rows from.
        params: The ``denoising`` block.
        name: Shown in logs and progress bars.
        best_epoch: Epoch kept.
        best_score: Macro-F1 of that epoch on the validation split.
        reused: Its finished checkpoint was reused, not trained again.
    """

    model: torch.nn.Module
    images: np.ndarray
    params: Denoising
    name: str
    best_epoch: int
    best_score: float
    reused: bool = False

    def predict_proba(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, C)`` probabilities of the cache rows ``inputs[0]``."""
        probs, _ = predict_image_classifier(
            self.model,
            self.images,
            inputs[0],
            stage=self.params.train,
            augment=self.params.augment,
            run=self.params.run,
            desc=f"{self.name} out-of-fold",
        )
        return probs


@parses_params
def make_image_train_fold(
    images: np.ndarray,
    *,
    num_classes: int,
    num_folds: int,
    params: Denoising,
    checkpoint_root: str | Path | None = None,
    pixel_digests: np.ndarray | None = None,
) -> TrainFold:
    """A ``train_fold`` that trains a fresh image classifier per fold on cache rows.

    Its inputs are cache positions (one array); fold ``k`` seeds torch with ``run.seed + k``
    and keeps its checkpoints in ``checkpoint_root/fold{k}`` (a rerun resumes or reuses them).

    Args:
        images: Cache array (N, S, S, 3) at ``params.train.cache_size``.
        num_classes: Number of classes.
        num_folds: Number of folds (for names in logs).
        params: The ``denoising`` block (``model``, ``train``, ``augment``, ``run``).
        checkpoint_root: Folder for per-fold checkpoints, or None.
        pixel_digests: The cache's per-row digests aligned with ``images`` (fingerprints).

    Returns:
        The ``train_fold`` callable for ``cross_validate``.
    """

    def train_fold(
        train_inputs: Sequence[np.ndarray],
        train_labels: np.ndarray,
        select_inputs: Sequence[np.ndarray],
        select_labels: np.ndarray,
        fold: int,
    ) -> ImageFoldModel:
        name = f"denoising fold {fold + 1}/{num_folds}"
        torch.manual_seed(params.run.seed + fold)
        model = build_image_classifier(params.model, num_classes)
        result = fit_image_classifier(
            model,
            images,
            train_inputs[0],
            train_labels,
            val_positions=select_inputs[0],
            val_labels=select_labels,
            stage=params.train,
            augment=params.augment,
            run=params.run,
            name=name,
            checkpoint_dir=None
            if checkpoint_root is None
            else Path(checkpoint_root) / f"fold{fold}",
            pixel_digests=pixel_digests,
        )
        logger.info(
            "%s: best epoch %d, val macro-F1 %.4f", name, result.best_epoch, result.best_score
        )
        return ImageFoldModel(
            model=result.model,
            images=images,
            params=params,
            name=name,
            best_epoch=result.best_epoch,
            best_score=result.best_score,
            reused=result.reused,
        )

    return train_fold


@parses_params
def out_of_fold_probs(
    images: np.ndarray,
    positions: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    val_positions: np.ndarray,
    val_labels: np.ndarray,
    num_classes: int,
    params: Denoising,
    checkpoint_root: str | Path | None = None,
    pixel_digests: np.ndarray | None = None,
) -> np.ndarray:
    """Train one classifier per fold and predict the rows it did not train on.

    Each fold's best epoch is chosen on the validation split (never on training rows), so
    the out-of-fold probabilities are honest.

    Args:
        images: Cache array (N, S, S, 3) at ``params.train.cache_size``.
        positions: Cache rows of the training products; ``labels``: their given labels.
        folds: Fold index of every training row.
        val_positions: Cache rows of the validation split; ``val_labels``: their labels.
        num_classes: Number of classes.
        params: The ``denoising`` block.
        checkpoint_root: Folder for per-fold checkpoints (resume), or None.
        pixel_digests: The cache's per-row digests aligned with ``images`` (fingerprints).

    Returns:
        (n_train, num_classes) float32 probabilities, row ``i`` from the model of fold
        ``folds[i]``.
    """
    train_fold = make_image_train_fold(
        images,
        num_classes=num_classes,
        num_folds=int(np.max(folds)) + 1,
        params=params,
        checkpoint_root=checkpoint_root,
        pixel_digests=pixel_digests,
    )
    result = cross_validate(
        [positions],
        labels,
        folds,
        train_fold,
        num_classes=num_classes,
        epoch_selection="given",
        select_inputs=[val_positions],
        select_labels=val_labels,
        desc="denoising",
        progress=False,  # each fold model shows its own progress
    )
    return result.oof_probs
