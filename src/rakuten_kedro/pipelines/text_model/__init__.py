"""The text_model pipeline: transformer text classifiers and the TF-IDF baseline."""

from rakuten_kedro.pipelines.text_model.pipeline import create_pipeline

__all__ = ["create_pipeline"]
