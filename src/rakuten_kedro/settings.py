"""Project settings: configuration loading and hooks."""

import warnings

from kedro.config import OmegaConfigLoader

from rakuten_kedro.distributed import close_log_files_off_the_main_process, process_rank
from rakuten_kedro.hooks import (
    CONFIG_BASE_ENV,
    DiscardStalePredictionsHooks,
    FinishedCheckpointsHooks,
    GridEnvironmentHooks,
    MainProcessSavesHooks,
    ParameterChecksHooks,
    PreflightChecksHooks,
    ProjectLockHooks,
    RunEnvironmentHooks,
)
from rakuten_kedro.run_summary import RunSummaryHooks
from rakuten_kedro.timing import NodeTimingHooks

# OmegaConf 2.4 deprecates register_new_resolver(), which Kedro 1.7's OmegaConfigLoader calls
# each time it is built: three warnings before every command that the user cannot act on.
# Only Kedro's calls are silenced (a project's own call would still warn).
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.config\.omegaconf_config",
)

# pluggy calls the hooks of one event in reverse order of registration: the last ones here
# run first (the lock, then the parameter check, before any preflight node or data is read).
HOOKS = (
    GridEnvironmentHooks(),
    DiscardStalePredictionsHooks(),
    RunEnvironmentHooks(),
    PreflightChecksHooks(),
    FinishedCheckpointsHooks(),
    MainProcessSavesHooks(),
    NodeTimingHooks(),
    RunSummaryHooks(),  # prints last (trylast), after the timing table
    ParameterChecksHooks(),
    ProjectLockHooks(),  # a wrapper: the lock before any other hook
)

# Under a multi-process launch only rank 0 writes: not info.log, not kedro-viz's .viz/ from the
# other ranks (the data, checkpoints, lock and summary are rank 0's through the hooks above).
close_log_files_off_the_main_process()
DISABLE_HOOKS_FOR_PLUGINS = () if process_rank() == 0 else ("kedro-viz", "kedro-telemetry")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": CONFIG_BASE_ENV,
    "default_run_env": "local",
    # conf/<env>/ states only what differs from base: nested blocks merge key by key.
    "merge_strategy": {"parameters": "soft"},
}
