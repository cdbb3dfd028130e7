"""Majority vote and its summed-probability tie-break, and the soft vote, on hand-made votes."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from rakuten_kedro.fusion.vote import ensemble_vote, majority_vote, soft_vote, vote_from_probs


def _probs(rows):
    return np.array(rows, dtype=float)


def test_majority_wins_even_against_higher_summed_probability():
    votes = np.array([[0], [0], [1]])
    probs = _probs([[[0.4, 0.6]], [[0.4, 0.6]], [[0.0, 1.0]]])  # class 1 has more mass
    assert majority_vote(votes, probs).tolist() == [0]


def test_tie_goes_to_the_highest_summed_probability_among_the_tied_classes():
    # Two voters for class 0, two for class 2; class 1 has the most mass but no tie.
    votes = np.array([[0], [0], [2], [2]])
    probs = _probs([[[0.5, 0.45, 0.05]], [[0.5, 0.45, 0.05]], [[0.1, 0.3, 0.6]], [[0.0, 0.3, 0.7]]])
    # summed: class 0 = 1.1, class 1 = 1.5, class 2 = 1.4 → class 2 (1 is not tied)
    assert majority_vote(votes, probs).tolist() == [2]


def test_exact_tie_goes_to_the_lowest_index_and_rows_are_independent():
    votes = np.array([[1, 2], [0, 2]])
    probs = np.full((2, 2, 3), 0.5)
    assert majority_vote(votes, probs).tolist() == [0, 2]


def test_vote_from_probs_uses_each_voters_argmax():
    probs = _probs([[[0.9, 0.1]], [[0.2, 0.8]], [[0.3, 0.7]]])
    assert vote_from_probs(probs).tolist() == [1]


def test_majority_vote_checks_shapes_and_classes():
    with pytest.raises(ValueError, match="voters, rows"):
        majority_vote(np.zeros((2, 3), dtype=int), np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="outside 0..1"):
        majority_vote(np.array([[2]]), np.zeros((1, 1, 2)))


def test_majority_vote_does_not_copy_the_members_probabilities():
    """The (voters, rows, classes) probabilities are only summed: no float64 copy of them
    (at the full test set, 12 members: 36 MB held for nothing)."""
    rng = np.random.default_rng(0)
    probs = rng.random((12, 5_000, 27), dtype=np.float32)
    votes = probs.argmax(axis=2)
    expected = np.where(votes[:, :, None] == np.arange(27), 1, 0).sum(
        axis=0
    )  # vote counts, to check the answer is unchanged
    summed = probs.astype(np.float64).sum(axis=0)
    reference = np.where(expected == expected.max(axis=1, keepdims=True), summed, -np.inf)

    tracemalloc.start()
    try:
        winners = majority_vote(votes, probs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert winners.tolist() == reference.argmax(axis=1).tolist()
    assert peak < probs.nbytes


def test_soft_vote_takes_the_highest_mean_probability():
    probs = _probs([[[0.4, 0.6], [0.9, 0.1]], [[0.4, 0.6], [0.2, 0.8]], [[1.0, 0.0], [0.2, 0.8]]])
    # row 0: two members prefer class 1 but the mean is 0.6 for class 0; row 1: 0.57 for class 1
    assert soft_vote(probs).tolist() == [0, 1]
    assert vote_from_probs(probs).tolist() == [1, 1]
    with pytest.raises(ValueError, match="voters, rows, classes"):
        soft_vote(probs[0])


def test_ensemble_vote_follows_its_rule():
    probs = _probs([[[0.4, 0.6]], [[0.4, 0.6]], [[1.0, 0.0]]])
    votes = probs.argmax(axis=2)
    assert ensemble_vote("soft", votes, probs).tolist() == [0]
    assert ensemble_vote("majority", votes, probs).tolist() == [1]
    with pytest.raises(ValueError, match="unknown ensemble rule 'mean'"):
        ensemble_vote("mean", votes, probs)
