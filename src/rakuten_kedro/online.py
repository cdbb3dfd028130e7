"""Whether a run may download pretrained weights: one offline switch, and a quick probe.

A run with no network must not hang on download retries: a host is probed once with a short
timeout. ``HF_HUB_OFFLINE=1`` (the Makefile and the tests set it) marks the whole run offline,
for the Hugging Face Hub and torchvision's ImageNet weights alike.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

#: The environment variable that makes a run offline.
OFFLINE_VARIABLE = "HF_HUB_OFFLINE"

#: Seconds to wait for a host before deciding that there is no network.
PROBE_TIMEOUT_S = 3.0


def run_is_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get(OFFLINE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def answers(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds.

    The probe runs in a daemon thread so that a stalled DNS lookup cannot block the run.

    Args:
        url: Any URL of the host (``https://download.pytorch.org/models/…``).
        timeout: Seconds to wait.

    Returns:
        ``True`` when the host accepted the connection in time.
    """
    parsed = urlparse(url)
    address = (parsed.hostname or "", parsed.port or (80 if parsed.scheme == "http" else 443))
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def can_download(url: str) -> bool:
    """Whether this run may download ``url``: not offline, and its host answers."""
    return not run_is_offline() and answers(url)
