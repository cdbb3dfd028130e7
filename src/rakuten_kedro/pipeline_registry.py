"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

#: Pipelines that are not part of the training method run by a plain ``kedro run``.
NOT_IN_DEFAULT = ("predict",)


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline package; ``__default__`` is the whole method end to end.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipeline for name, pipeline in pipelines.items() if name not in NOT_IN_DEFAULT),
        start=Pipeline([]),
    )
    return pipelines
