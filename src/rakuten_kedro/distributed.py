"""Where this process stands in a multi-process launch (``accelerate launch`` / ``torchrun``).

Read from the launcher's environment variables, so it is known before any process group or
``Accelerator`` exists (Kedro hooks, tokenizer files) and costs no torch import.
"""

from __future__ import annotations

import os


def process_rank() -> int:
    """This process's global rank under ``accelerate launch`` / ``torchrun`` (0 otherwise)."""
    for variable in ("RANK", "LOCAL_RANK"):
        if os.environ.get(variable, "").strip():
            return int(os.environ[variable])
    return 0


def world_size() -> int:
    """How many processes the launcher started (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))
