"""Project hooks."""

from __future__ import annotations

import logging
import os

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class RunEnvironmentHooks:
    """Say at the start of a run which hardware it will use, and keep tokenizers quiet.

    A log line with the device saves guessing why a run is slow; tokenizers' fork warning
    is noise once its thread pool is used before data-loader workers start.
    """

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch  # noqa: PLC0415  (keep `kedro --help` fast)

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        logger.info(
            "rakuten_kedro run on %s (%d GPU(s), %d CPU threads), env=%s",
            device,
            torch.cuda.device_count(),
            torch.get_num_threads(),
            run_params.get("env") or "local",
        )
