"""Project settings: configuration loading and hooks."""

import os
import warnings

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
# MLflow warns about (12 wrapped lines) when the class is made. MLflow sets its own warning
# filter around that check, so no filter reaches it: the class is made here, once per process,
# with the warning display switched off.
with warnings.catch_warnings():
    warnings.showwarning = lambda *args, **kwargs: None
    import kedro_mlflow.mlflow  # noqa: F401
# MLflow sends usage data unless told not to; this project sends nothing (README).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The filters above must be in place before the imports below load kedro-mlflow.
from rakuten_kedro.config_loader import ProjectConfigLoader, add  # noqa: E402
from rakuten_kedro.distributed import (  # noqa: E402
    close_log_files_off_the_main_process,
    process_rank,
)
from rakuten_kedro.hooks import (  # noqa: E402
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
from rakuten_kedro.run_summary import RunSummaryHooks  # noqa: E402
from rakuten_kedro.timing import NodeTimingHooks  # noqa: E402
from rakuten_kedro.tracking import TrackingHooks  # noqa: E402

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
    TrackingHooks(),  # one MLflow run per kedro run (tracking.enabled), rank 0 only
    RunSummaryHooks(),  # prints last (trylast), after the timing table
    ParameterChecksHooks(),
    ProjectLockHooks(),  # a wrapper: the lock before any other hook
)

# Under a multi-process launch only rank 0 writes: not info.log, not kedro-viz's .viz/ from the
# other ranks (the data, checkpoints, lock and summary are rank 0's through the hooks above).
close_log_files_off_the_main_process()
# kedro-mlflow's auto-registered hook would track every run: TrackingHooks above replaces it
# (Kedro compares the distribution's name as its metadata writes it: kedro_mlflow in 2.0.3).
MLFLOW_PLUGIN = ("kedro_mlflow", "kedro-mlflow")
DISABLE_HOOKS_FOR_PLUGINS = (
    MLFLOW_PLUGIN if process_rank() == 0 else (*MLFLOW_PLUGIN, "kedro-viz", "kedro-telemetry")
)

# Kedro's OmegaConfigLoader, plus parameter blocks that extend another (`extends: <block>`) and
# the `add` resolver for derived seeds (rakuten_kedro.config_loader).
CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": CONFIG_BASE_ENV,
    "default_run_env": "local",
    # conf/<env>/ states only what differs from base: nested blocks merge key by key.
    "merge_strategy": {"parameters": "soft"},
    "custom_resolvers": {"add": add},
}
