"""Project settings: configuration loading and hooks."""

import os
import warnings

from kedro.config import OmegaConfigLoader

# OmegaConf 2.4 deprecates register_new_resolver(), which Kedro 1.7's OmegaConfigLoader calls
# each time it is built: three warnings before every command that the user cannot act on.
# Only Kedro's calls are silenced (a project's own call would still warn).
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"(kedro\.config\.omegaconf_config|kedro_mlflow\.framework\.hooks\.mlflow_hook)",
)
# kedro-mlflow's own pickled-pipeline model class (not used here) has no type hints, which
# MLflow warns about when kedro loads the plugin.
warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method")
# MLflow sends usage data unless told not to; this project sends nothing (README).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The filters above must be in place before the imports below load kedro-mlflow.
from rakuten_kedro.hooks import (  # noqa: E402
    DiscardStalePredictionsHooks,
    GridEnvironmentHooks,
    MainProcessSavesHooks,
    PreflightChecksHooks,
    ProjectLockHooks,
    RunEnvironmentHooks,
)
from rakuten_kedro.run_summary import RunSummaryHooks  # noqa: E402
from rakuten_kedro.timing import NodeTimingHooks  # noqa: E402
from rakuten_kedro.tracking import TrackingHooks  # noqa: E402

HOOKS = (
    GridEnvironmentHooks(),
    DiscardStalePredictionsHooks(),
    RunEnvironmentHooks(),
    PreflightChecksHooks(),
    MainProcessSavesHooks(),
    NodeTimingHooks(),
    TrackingHooks(),  # one MLflow run per kedro run (tracking.enabled), rank 0 only
    RunSummaryHooks(),  # prints last (trylast), after the timing table
    ProjectLockHooks(),  # last registered, first called: the lock before any other hook
)

# kedro-mlflow's auto-registered hook would track every run; TrackingHooks above replaces it.
# Kedro compares the distribution's name as written in its metadata, which kedro-mlflow 2.0.3
# spells with an underscore.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/ states only what differs from base: nested blocks merge key by key.
    "merge_strategy": {"parameters": "soft"},
}
