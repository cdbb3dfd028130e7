"""Experiment tracking with kedro-mlflow: every ``kedro run`` is one MLflow run.

Where runs go is kedro-mlflow's ``conf/<env>/mlflow.yml`` (a SQLite store and artifact folder
inside the project by default, any tracking server by configuration). ``tracking.enabled``
(``conf/<env>/parameters_tracking.yml``, or ``kedro run --params tracking.enabled=false``)
switches tracking off: no MLflow run, nothing written. A run records

- tags: the Kedro environment, the pipeline(s), the git commit and the data fingerprint;
- parameters: every parameter the run's nodes read, flattened by kedro-mlflow; a value longer
  than MLflow's limit is cut and ends with :data:`TRUNCATED`, a key longer than MLflow's limit
  is cut and ends with a digest of the whole key;
- per-epoch metrics of every training (``<training name>/<metric>``, step = epoch), from the
  training loop's epoch observers;
- the final metrics (``results.json``: ``<method>/macro_f1``, …) and the files of the run
  summary it wrote (results, table, figures, label issues, model card, …) as artifacts;
- the method as one MLflow model (``serving.package``), registered under
  ``tracking.registered_model``, when the run wrote a model the predict pipeline reads.

Only rank 0 of a multi-process launch tracks.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from mlflow.entities import Metric, RunStatus
from mlflow.utils.validation import (
    MAX_ENTITY_KEY_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
)

from rakuten_kedro.config import Tracking, plain_value
from rakuten_kedro.distributed import process_rank
from rakuten_kedro.fingerprint import data_fingerprint, digest
from rakuten_kedro.run_summary import written_outputs
from rakuten_kedro.serving.package import log_method_model, packaged_models
from rakuten_kedro.training.loop import add_epoch_observer, remove_epoch_observer

logger = logging.getLogger(__name__)

#: Ends a parameter value cut to MLflow's length limit; ``{length}`` is the full length.
TRUNCATED = " ...[truncated, {length} characters]"
#: The loop's per-epoch record fields logged as metrics.
EPOCH_METRICS = ("train_loss", "val_macro_f1", "lr", "samples_per_s")
#: Buffered epoch metrics are sent at least this often (seconds) while a node trains.
FLUSH_EVERY_S = 5.0


def tracking_settings(params: Mapping[str, Any]) -> Tracking:
    """The ``tracking`` parameters (``enabled``, ``registered_model``)."""
    return Tracking.parse(params.get("tracking"), "tracking")


def mlflow_param(name: str, value: Any) -> tuple[str, str]:
    """A parameter as MLflow accepts it: the value as text of at most ``MAX_PARAM_VAL_LENGTH``
    characters (cut ones end with :data:`TRUNCATED`), the key of at most
    ``MAX_ENTITY_KEY_LENGTH`` (cut ones end with ``-`` and 8 digits of a digest of the key)."""
    text = str(value)
    if len(text) > MAX_PARAM_VAL_LENGTH:
        marker = TRUNCATED.format(length=len(text))
        text = text[: MAX_PARAM_VAL_LENGTH - len(marker)] + marker
    if len(name) > MAX_ENTITY_KEY_LENGTH:
        marker = "-" + digest(name)[:8]
        name = name[: MAX_ENTITY_KEY_LENGTH - len(marker)] + marker
    return name, text


def parameters_as_dicts(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A node's inputs with its typed-config parameters as dicts, so that kedro-mlflow logs
    them key by key (``text_transformer.training.lr``) rather than as one string."""
    return {
        name: plain_value(value) if name.startswith("params:") or name == "parameters" else value
        for name, value in inputs.items()
    }


def metric_key(training: str, field: str) -> str:
    """``<training>/<field>`` with the training's name made a valid MLflow key
    (``image_dcl_clean stage 2 (DCL)`` → ``image_dcl_clean_stage_2_DCL``)."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', training).strip('_')}/{field}"


class EpochMetrics:
    """An epoch observer that sends each training's per-epoch records to an MLflow run.

    Records are buffered and sent in batches (at most every :data:`FLUSH_EVERY_S` seconds and
    at :meth:`flush`): the fusion's fold networks train hundreds of epochs a second.
    """

    def __init__(self, client: Any, run_id: str, every_s: float = FLUSH_EVERY_S) -> None:
        self._client, self._run_id, self._every_s = client, run_id, every_s
        self._pending: list[Metric] = []
        self._sent = time.monotonic()

    def __call__(self, training: str, record: Mapping[str, float]) -> None:
        stamp, step = int(time.time() * 1000), int(record["epoch"])
        self._pending += [
            Metric(metric_key(training, field), float(record[field]), stamp, step)
            for field in EPOCH_METRICS
            if field in record
        ]
        if time.monotonic() - self._sent >= self._every_s:
            self.flush()

    def flush(self) -> None:
        """Sends every buffered metric."""
        while self._pending:
            batch = self._pending[:MAX_METRICS_PER_BATCH]
            self._client.log_batch(self._run_id, metrics=batch)
            del self._pending[:MAX_METRICS_PER_BATCH]
        self._sent = time.monotonic()


def git_tags(project_path: Path) -> dict[str, str]:
    """``git_commit`` (and MLflow's own source tag) and ``git_dirty`` of the project."""

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", *args], cwd=project_path, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return result.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown (not a git checkout)"}
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"git_commit": commit, "mlflow.source.git.commit": commit, "git_dirty": str(dirty)}


def final_metrics(results: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``results.json`` as MLflow metrics: ``<method>/<score>``."""
    return {
        f"{method}/{score}": float(value)
        for method, scores in results.items()
        for score, value in scores.items()
        if isinstance(value, int | float)
    }


class TrackingHooks(MlflowHook):
    """kedro-mlflow's hook (run per ``kedro run``, parameters, tags), switchable off, on rank 0
    only, plus what this project records (see the module docstring).

    Registered in ``settings.HOOKS``; the plugin's own auto-registered instance is disabled
    there (``DISABLE_HOOKS_FOR_PLUGINS``), so that tracking off writes nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._on = False
        self._settings: Tracking | None = None
        self._epochs: EpochMetrics | None = None
        self._context: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Reads the settings only: the store is opened by a run (kedro-mlflow would open it for
        every session, `kedro viz` and notebooks included). ``context.mlflow`` is set for
        ``kedro mlflow ui`` even with tracking off: the runs recorded before are still there."""
        self._settings = tracking_settings(context.params)
        self._on = process_rank() == 0 and self._settings.enabled
        self._context = context
        patterns = context.config_loader.config_patterns
        patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
        context.__setattr__(
            "mlflow", KedroMlflowConfig.model_validate(context.config_loader["mlflow"])
        )

    @hook_impl(trylast=True)  # after the lock and the preflight checks: they may stop the run
    def before_pipeline_run(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        if not self._on:
            return
        super().after_context_created(self._context)  # kedro-mlflow's set-up: store, experiment
        super().before_pipeline_run(run_params, pipeline, catalog)
        if not self._is_mlflow_enabled:
            return
        names = run_params.get("pipeline_names") or ["__default__"]
        mlflow.set_tags(
            {
                "kedro_env": run_params.get("env") or "local",
                "kedro_pipeline": "+".join(names),
                **git_tags(Path(run_params.get("project_path") or Path.cwd())),
            }
        )
        self._epochs = EpochMetrics(mlflow.MlflowClient(), self.run_id)
        add_epoch_observer(self._epochs)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict, is_async: bool) -> None:
        if self._on:
            super().before_node_run(node, catalog, parameters_as_dicts(inputs), is_async)

    @hook_impl
    def after_node_run(self) -> None:
        if self._epochs is not None:
            self._epochs.flush()

    @hook_impl
    def after_pipeline_run(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        if not self._on:
            return
        if self._is_mlflow_enabled:
            self._stop_observing()
            try:
                self._log_outcome(run_params, pipeline, catalog)
            except Exception:
                mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))
                raise
        super().after_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict, pipeline: Any, catalog: Any):
        if not self._on:
            return
        if self._is_mlflow_enabled:
            self._stop_observing()
        super().on_pipeline_error(error, run_params, pipeline, catalog)

    def _log_param(self, name: str, value: Any) -> None:
        mlflow.log_param(*mlflow_param(name, value))

    def _stop_observing(self) -> None:
        if self._epochs is not None:
            remove_epoch_observer(self._epochs)
            self._epochs.flush()
            self._epochs = None

    def _log_outcome(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        """Data fingerprint, final metrics, artifacts and the method's model."""
        project_path = Path(run_params.get("project_path") or Path.cwd())
        if catalog.exists("products") and catalog.exists("image_cache"):
            fingerprint = data_fingerprint(catalog.load("products"), catalog.load("image_cache"))
            mlflow.set_tag("data_fingerprint", fingerprint)
        written = written_outputs(pipeline, catalog, str(project_path))
        if "results" in written:
            mlflow.log_metrics(final_metrics(catalog.load("results")))
        for path in written.values():
            relative = Path(path)
            mlflow.log_artifact(str(project_path / relative), str(relative.parent))
        self._log_model(run_params, pipeline, catalog)

    def _log_model(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        parameters = catalog.load("parameters")
        environment = run_params.get("env") or "local"
        models = packaged_models(catalog, parameters, environment)
        if not set(models) & set(pipeline.all_outputs()):
            return  # this run trained none of the models the method answers with
        missing = [name for name in models if not catalog.exists(name)]
        if missing:
            logger.info("The method's model is not logged: %s not trained yet", missing)
            return
        name = self._settings.registered_model
        info = log_method_model(catalog, parameters, environment, name)
        logger.info("Logged the method's model: %s", info.model_uri)
        if info.registered_model_version:
            logger.info("Registered as models:/%s/%s", name, info.registered_model_version)
