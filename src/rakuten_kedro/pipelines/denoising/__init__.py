"""The denoising pipeline: cross-validated image model + cleanlab, to find mislabelled photos."""

from rakuten_kedro.pipelines.denoising.pipeline import create_pipeline

__all__ = ["create_pipeline"]
