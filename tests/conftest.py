"""Test-wide settings: offline, no telemetry, quiet tokenizers."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _forget_the_sessions_config_loader():
    """A KedroSession hands its config loader to the ensemble (a process-wide handle); tests
    that create sessions must not leak it into tests that read ./conf themselves."""
    yield
    from rakuten_kedro.fusion.members import use_config_loader  # noqa: PLC0415

    use_config_loader(None)
