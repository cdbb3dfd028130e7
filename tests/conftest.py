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


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test: tiny models run faster on one thread than on two
    contended ones (shared CPU), and a subprocess compared with the test uses one too."""
    import torch  # noqa: PLC0415  (only the tests that ask for it pay the import)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
