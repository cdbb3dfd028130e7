"""Experiment grids for pipeline tests, built in code (the project's own are in conf/)."""

from __future__ import annotations

from rakuten_kedro.grid import EnsembleMember, Grid, ImageVariant, TextVariant


def make_grid(members: list[tuple[str, str, str, str]]) -> Grid:
    """A grid whose variants are those the members name (``text_*`` names ending in ``tfidf``
    are TF-IDF variants learning from all ids, image variants learn from the denoised ids with
    DCL).

    Args:
        members: ``(name, text, image, network)`` per member, in order.
    """
    parsed = tuple(EnsembleMember(*member) for member in members)
    texts = dict.fromkeys(member.text for member in parsed)
    images = dict.fromkeys(member.image for member in parsed)
    return Grid(
        text=tuple(
            TextVariant(name, "tfidf" if name.endswith("tfidf") else "transformer", "all")
            for name in texts
        ),
        image=tuple(ImageVariant(name, "denoised", True) for name in images),
        members=parsed,
    )
