"""Deterministic synthetic Rakuten-like data (text, photos, injected label noise) for demos."""

from rakuten_kedro.demo.generator import DemoSummary, Difficulty, generate_demo_dataset

__all__ = ["DemoSummary", "Difficulty", "generate_demo_dataset"]
