"""Classify new products with trained fusion networks: member votes, ensemble, top-k table.

Used by the ``predict`` pipeline (no training): each ensemble member's saved fold networks
(``FoldEnsemble``) fuse its text and image probabilities and vote; the members vote in turn
under ``ensemble.rule``.
Products whose photo could not be read get the text models' answer instead (the mean of the
text variants' probabilities, made by the predict pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from rakuten_kedro.codes import PRDTYPECODE_NAMES
from rakuten_kedro.config import EnsembleRule
from rakuten_kedro.fusion.decision import stack_probabilities
from rakuten_kedro.fusion.vote import ensemble_vote, vote_from_probs


def fold_ensemble_predict(
    fold_ensemble: torch.nn.Module, modality_probs: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """One member's prediction: its K fold networks' vote and their mean probabilities.

    Args:
        fold_ensemble: A ``FoldEnsemble`` (forward → ``(K, N, C)`` logits).
        modality_probs: The text then image ``(N, C)`` probabilities.

    Returns:
        ``(votes (N,), mean_probs (N, C))``.
    """
    inputs = torch.as_tensor(stack_probabilities(modality_probs))
    fold_ensemble.eval()
    with torch.inference_mode():
        fold_probs = torch.softmax(fold_ensemble(inputs).float(), dim=-1).numpy()
    return vote_from_probs(fold_probs), fold_probs.mean(axis=0)


def top_k_table(
    row_ids: np.ndarray,
    predicted: np.ndarray,
    probs: np.ndarray,
    codes: Sequence[int],
    k: int = 3,
) -> pd.DataFrame:
    """The predicted code first, then the most probable other codes, each with its name.

    Args:
        row_ids: ``(N,)`` row ids.
        predicted: ``(N,)`` predicted label indices (e.g. a vote, which may not be the argmax).
        probs: ``(N, C)`` probabilities used for the probabilities and the runners-up.
        codes: The codes in label order.
        k: How many codes per product.

    Returns:
        ``row_id``, then ``prdtypecode``, ``category`` (its name) and ``probability`` for the
        predicted code, then ``top{i}_prdtypecode`` / ``top{i}_category`` /
        ``top{i}_probability`` for the runners-up, ``i`` in ``2..k``.
    """
    codes_array = np.asarray(codes, dtype=np.int64)
    rows = np.arange(len(predicted))
    others = probs.copy()
    others[rows, predicted] = -np.inf  # the predicted code is ranked first whatever its mass
    ranked = np.concatenate([predicted[:, None], np.argsort(-others, axis=1)[:, : k - 1]], axis=1)
    table = pd.DataFrame({"row_id": np.asarray(row_ids, dtype=np.int64)})
    for rank in range(k):
        prefix = f"top{rank + 1}_" if rank else ""
        ranked_codes = codes_array[ranked[:, rank]]
        table[f"{prefix}prdtypecode"] = ranked_codes
        table[f"{prefix}category"] = [PRDTYPECODE_NAMES[int(code)] for code in ranked_codes]
        table[f"{prefix}probability"] = probs[rows, ranked[:, rank]].astype(np.float32)
    return table


def ensemble_with_text_fallback(  # noqa: PLR0917 - each argument is one array of the same rows
    rule: EnsembleRule,
    member_votes: Sequence[np.ndarray],
    member_probs: Sequence[np.ndarray],
    text_probs: np.ndarray,
    has_photo: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The members' vote, or the text-only answer where the photo is unusable.

    Args:
        rule: ``ensemble.rule`` (``soft`` or ``majority``), as in the ensemble pipeline.
        member_votes: Each member's ``(N,)`` votes.
        member_probs: Each member's ``(N, C)`` mean probabilities (tie-break, ranking).
        text_probs: ``(N, C)`` text-only probabilities (the mean of the text variants').
        has_photo: ``(N,)`` bool, False where the photo was missing or unreadable.

    Returns:
        ``(predicted (N,), probs (N, C))``: the ensemble's vote and mean member probabilities
        for products with a photo, the text-only argmax and probabilities for the others.
    """
    probs = np.stack(member_probs)
    predicted = ensemble_vote(rule, np.stack(member_votes), probs)
    mean_probs = probs.mean(axis=0)
    has_photo = np.asarray(has_photo, dtype=bool)
    predicted = np.where(has_photo, predicted, text_probs.argmax(axis=1))
    mean_probs = np.where(has_photo[:, None], mean_probs, text_probs)
    return predicted, mean_probs
