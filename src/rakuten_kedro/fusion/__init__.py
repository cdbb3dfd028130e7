"""Decision-level and feature-level fusion of the text and image models, and the ensemble vote.

Plain modules (usable from a notebook): ``folds`` (stratified fold assignment and the per-fold
row split), ``vote`` (majority vote with the summed-probability tie-break), ``tables``
(probability tables ↔ arrays), ``cross_validation`` (out-of-fold training of any fusion model),
``decision`` / ``feature`` / ``stacking`` (the three fusion families), ``members`` (the
ensemble's member declaration, read from the parameters), ``predict`` (trained fold networks
applied to new products, with the text-only fallback).
"""
