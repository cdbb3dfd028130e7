"""How voters' answers are combined: the majority vote with ties broken by summed probability
(fold networks; the paper's ensemble) and the soft vote (the ensemble's default rule)."""

from __future__ import annotations

import numpy as np

from rakuten_kedro.config import EnsembleRule


def majority_vote(votes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The class most voters chose for every row; ties go to the highest summed probability.

    Args:
        votes: ``(M, N)`` class index each of the ``M`` voters gives each of the ``N`` rows.
        probs: ``(M, N, C)`` the voters' class probabilities, used only to break ties between
            the classes that share the most votes (a tie that remains goes to the lowest index).

    Returns:
        ``(N,)`` int64 winning class of every row.
    """
    votes = np.asarray(votes)
    probs = np.asarray(probs)  # only summed (in float64): no copy of every voter's table
    if votes.ndim != 2 or probs.ndim != 3 or probs.shape[:2] != votes.shape:
        raise ValueError(
            f"votes must be (voters, rows) and probs (voters, rows, classes) with the same "
            f"first two sizes; got {votes.shape} and {probs.shape}"
        )
    num_classes = probs.shape[2]
    if votes.size and (votes.min() < 0 or votes.max() >= num_classes):
        raise ValueError(f"votes hold class indices outside 0..{num_classes - 1}")
    counts = np.zeros(probs.shape[1:], dtype=np.int64)
    rows = np.arange(votes.shape[1])
    for voter_votes in votes:
        np.add.at(counts, (rows, voter_votes), 1)
    most_voted = counts == counts.max(axis=1, keepdims=True)
    summed = probs.sum(axis=0, dtype=np.float64)
    return np.where(most_voted, summed, -np.inf).argmax(axis=1).astype(np.int64)


def vote_from_probs(probs: np.ndarray) -> np.ndarray:
    """Majority vote of voters who each vote for their most probable class.

    Args:
        probs: ``(M, N, C)`` class probabilities of ``M`` voters.

    Returns:
        ``(N,)`` int64 winning class of every row.
    """
    probs = np.asarray(probs)
    return majority_vote(probs.argmax(axis=2), probs)


def soft_vote(probs: np.ndarray) -> np.ndarray:
    """The class with the highest mean probability over the voters: a confident voter outweighs
    two hesitant ones, which a majority vote ignores.

    Args:
        probs: ``(M, N, C)`` class probabilities of ``M`` voters.

    Returns:
        ``(N,)`` int64 winning class of every row (a tie goes to the lowest index).
    """
    probs = np.asarray(probs)
    if probs.ndim != 3:
        raise ValueError(f"probs must be (voters, rows, classes); got shape {probs.shape}")
    return probs.sum(axis=0, dtype=np.float64).argmax(axis=1).astype(np.int64)


def ensemble_vote(rule: EnsembleRule, votes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The ensemble's answer under ``rule`` (``ensemble.rule``).

    Args:
        rule: ``soft`` or ``majority``.
        votes: ``(M, N)`` each member's predicted class (the majority vote counts them).
        probs: ``(M, N, C)`` each member's probabilities.

    Returns:
        ``(N,)`` int64 winning class of every row.
    """
    if rule == "soft":
        return soft_vote(probs)
    if rule == "majority":
        return majority_vote(votes, probs)
    raise ValueError(f"unknown ensemble rule {rule!r}: soft or majority")
