"""The image_model pipeline: ResNet classifiers (two stages, optional DCL), one per variant."""

from rakuten_kedro.pipelines.image_model.pipeline import create_pipeline

__all__ = ["create_pipeline"]
