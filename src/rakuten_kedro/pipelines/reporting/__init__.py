"""Results in the paper's terms: results.json, the Table-1-like table, the figures."""

from rakuten_kedro.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
