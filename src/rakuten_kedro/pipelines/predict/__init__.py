"""Classify new products with the trained artifacts only (no retraining)."""

from rakuten_kedro.pipelines.predict.pipeline import create_pipeline

__all__ = ["create_pipeline"]
