"""The vote of the ensemble members' decision-level fusions (``ensemble.rule``), and the
submission file."""

from rakuten_kedro.pipelines.ensemble.pipeline import create_pipeline

__all__ = ["create_pipeline"]
