"""Where this process stands in a multi-process launch (``accelerate launch`` / ``torchrun``).

Read from the launcher's environment variables, so it is known before any process group or
``Accelerator`` exists (Kedro hooks, logging, tokenizer files) and costs no torch import. Only
rank 0 writes: data (``MainProcessSavesHooks``), checkpoints, the log file, kedro-viz's
``.viz/`` (``settings.py``), the run lock and summary.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def process_rank() -> int:
    """This process's global rank under ``accelerate launch`` / ``torchrun`` (0 otherwise)."""
    for variable in ("RANK", "LOCAL_RANK"):
        if os.environ.get(variable, "").strip():
            return int(os.environ[variable])
    return 0


def world_size() -> int:
    """How many processes the launcher started (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def wait_for_everyone() -> None:
    """A barrier across the processes of a multi-process launch (nothing without one)."""
    if world_size() > 1:
        import torch  # noqa: PLC0415 - only multi-process runs pay for it here
        from accelerate import PartialState  # noqa: PLC0415

        # The same process-wide state as the training loop's Accelerator (CPU without CUDA).
        PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()


def wait_for_main_process(path: Path, what: str, timeout_s: float = 1800.0) -> None:
    """Waits until rank 0 has made ``path``, so that no other rank writes it too.

    What rank 0 makes appears at once (written aside, then renamed), so its existence means
    it is complete.

    Raises:
        TimeoutError: When ``path`` is still missing after ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    logger.info("process rank %d: waiting for rank 0 to write %s (%s)", process_rank(), what, path)
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"process rank {process_rank()}: rank 0 did not write {what} ({path}) within "
                f"{timeout_s:.0f} s; did it fail? Its log says why."
            )
        time.sleep(1.0)


def close_log_files_off_the_main_process() -> None:
    """Under a multi-process launch, closes the log files of every rank but 0 (``info.log``
    is rank 0's; the other ranks still log to the console).

    Kedro applies ``conf/logging.yml`` before the project is imported and accepts only
    handler classes of the ``logging`` modules, so this runs from ``settings.py``: the
    handlers open their files lazily (``delay: True``) and nothing has been logged yet.
    """
    if process_rank() == 0:
        return
    for name in [None, *logging.root.manager.loggerDict]:
        log = logging.getLogger(name)
        for handler in list(getattr(log, "handlers", [])):
            if isinstance(handler, logging.FileHandler):
                log.removeHandler(handler)
                handler.close()
