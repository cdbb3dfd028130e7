"""Raw products → clean tables, label encoding, train/validation split, image cache."""

from rakuten_kedro.pipelines.preprocessing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
