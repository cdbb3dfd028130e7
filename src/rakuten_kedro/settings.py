"""Project settings: configuration loading and hooks."""

import warnings

from kedro.config import OmegaConfigLoader

from rakuten_kedro.hooks import (
    DiscardStalePredictionsHooks,
    FinishedCheckpointsHooks,
    GridEnvironmentHooks,
    MainProcessSavesHooks,
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

HOOKS = (
    GridEnvironmentHooks(),
    DiscardStalePredictionsHooks(),
    RunEnvironmentHooks(),
    PreflightChecksHooks(),
    FinishedCheckpointsHooks(),
    MainProcessSavesHooks(),
    NodeTimingHooks(),
    RunSummaryHooks(),  # prints last (trylast), after the timing table
    ProjectLockHooks(),  # a wrapper: the lock before any other hook
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/ states only what differs from base: nested blocks merge key by key.
    "merge_strategy": {"parameters": "soft"},
}
