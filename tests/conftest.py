"""Test-wide settings: offline, no telemetry, quiet tokenizers."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _keep_the_kedro_environment():
    """A KedroSession created with an environment sets KEDRO_ENV (the project's hook, as
    `kedro jupyter --env` does); tests that create sessions must not leak it."""
    before = os.environ.get("KEDRO_ENV")
    yield
    if os.environ.get("KEDRO_ENV") != before:
        if before is None:
            del os.environ["KEDRO_ENV"]
        else:
            os.environ["KEDRO_ENV"] = before


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test: tiny models run faster on one thread than on two
    contended ones (shared CPU), and a subprocess compared with the test uses one too."""
    import torch  # noqa: PLC0415  (only the tests that ask for it pay the import)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
