"""Decision-level and feature-level fusion of the text and image models, and the ensemble vote.

Plain modules (usable from a notebook): ``vote`` (majority vote with the summed-probability
tie-break, soft vote, ``ensemble.rule``), ``fold_networks`` (the fusions' torch fold networks for
``training.cross_validation``), ``decision`` / ``feature`` / ``stacking`` (the three fusion
families), ``members`` (the ensemble's member declaration, read from the parameters),
``predict`` (trained fold networks applied to new products, with the text-only fallback).
"""
