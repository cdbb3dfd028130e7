"""Project hooks."""

from __future__ import annotations

import logging
import os
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class EnsembleMembersHooks:
    """Hand the session's configuration to the ensemble so ``--env`` picks its members.

    The ensemble members decide the pipelines' shape (one namespace each), and Kedro builds
    pipelines after this hook but before it reads parameters.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        from rakuten_kedro.fusion.members import use_config_loader  # noqa: PLC0415

        use_config_loader(context.config_loader)


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


#: Nodes with this tag check the run's prerequisites (e.g. that pretrained weights can be
#: found) from parameters alone; they run before the first node, so a run that cannot finish
#: stops in seconds rather than after an hour of earlier work.
PREFLIGHT_TAG = "preflight"


class PreflightChecksHooks:
    """Run every ``preflight``-tagged node of the pipeline before the pipeline starts.

    Kedro orders independent nodes by name, so without this a missing-weights check may only
    run after other long nodes (the image cache, the TF-IDF baseline).
    """

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        for node in pipeline.nodes:
            if PREFLIGHT_TAG in node.tags:
                node.run({name: catalog.load(name) for name in node.inputs})
