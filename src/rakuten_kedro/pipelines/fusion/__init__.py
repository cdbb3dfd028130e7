"""Decision-level fusion per ensemble member, the stacking baseline, feature-level fusion."""

from rakuten_kedro.pipelines.fusion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
