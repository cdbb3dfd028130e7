"""Project pipelines."""

from __future__ import annotations

import warnings

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

#: Pipelines that are not part of the training method run by a plain ``kedro run``.
NOT_IN_DEFAULT = ("predict",)


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline package; ``__default__`` is the whole method end to end.

    Kedro 1.7 warns "dataset names contain '.'" for any node that reads another namespace's
    output (a fusion reading ``text_transformer.val_probs``), even when the namespace mapping
    is Kedro's own (kedro-org/kedro#5021); the two-level model stack does this by design, so
    the warning is silenced while the project's pipelines are built, and only then.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"One or more dataset names contain '\.'")
        pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipeline for name, pipeline in pipelines.items() if name not in NOT_IN_DEFAULT),
        start=Pipeline([]),
    )
    return pipelines
