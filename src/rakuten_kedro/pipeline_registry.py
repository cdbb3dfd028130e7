"""Project pipelines, built from the experiment grid of the environment."""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline

from rakuten_kedro.grid import Grid, load_grid
from rakuten_kedro.pipelines import (
    denoising,
    ensemble,
    fusion,
    image_model,
    predict,
    preprocessing,
    reporting,
    text_model,
)

#: Pipelines that are not part of the training method run by a plain ``kedro run``.
NOT_IN_DEFAULT = ("predict",)


def build_pipelines(grid: Grid) -> dict[str, Pipeline]:
    """Every pipeline for ``grid``; ``__default__`` is the whole method end to end (without
    denoising when no image variant trains on denoised ids).

    Kedro 1.7 warns "dataset names contain '.'" for any node that reads another namespace's
    output (a fusion reading ``text_transformer.val_probs``), even when the namespace mapping
    is Kedro's own (kedro-org/kedro#5021); the two-level model stack does this by design, so
    the warning is silenced while the project's pipelines are built, and only then.

    Args:
        grid: The experiment grid.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"One or more dataset names contain '\.'")
        pipelines = {
            "preprocessing": preprocessing.create_pipeline(),
            "text_model": text_model.create_pipeline(grid),
            "denoising": denoising.create_pipeline(),
            "image_model": image_model.create_pipeline(grid),
            "fusion": fusion.create_pipeline(grid),
            "ensemble": ensemble.create_pipeline(grid),
            "reporting": reporting.create_pipeline(grid),
            "predict": predict.create_pipeline(grid),
        }
    left_out = NOT_IN_DEFAULT if grid.uses_denoising else (*NOT_IN_DEFAULT, "denoising")
    pipelines["__default__"] = sum(
        (pipeline for name, pipeline in pipelines.items() if name not in left_out),
        start=Pipeline([]),
    )
    return pipelines


def register_pipelines() -> dict[str, Pipeline]:
    """The pipelines of the environment this process runs in (``grid.grid_environment``).

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    return build_pipelines(load_grid())
