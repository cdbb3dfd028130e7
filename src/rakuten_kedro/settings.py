"""Project settings: configuration loading and hooks."""

from kedro.config import OmegaConfigLoader

from rakuten_kedro.hooks import (
    DiscardStalePredictionsHooks,
    EnsembleMembersHooks,
    MainProcessSavesHooks,
    PreflightChecksHooks,
    ProjectLockHooks,
    RunEnvironmentHooks,
)
from rakuten_kedro.timing import NodeTimingHooks

HOOKS = (
    EnsembleMembersHooks(),
    DiscardStalePredictionsHooks(),
    RunEnvironmentHooks(),
    PreflightChecksHooks(),
    MainProcessSavesHooks(),
    NodeTimingHooks(),
    ProjectLockHooks(),  # last registered, first called: the lock before any other hook
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
