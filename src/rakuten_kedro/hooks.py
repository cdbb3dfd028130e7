"""Project hooks."""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import AbstractDataset, MemoryDataset
from kedro.pipeline import Pipeline

from rakuten_kedro.config import (
    FIXED_BLOCKS,
    check_parameters,
    environments,
    parameter_block,
    parameter_files,
    variants_declared_in,
)
from rakuten_kedro.distributed import process_rank
from rakuten_kedro.grid import (
    check_pipeline_matches_grid,
    grid_environment,
    load_grid,
    pipeline_matches_grid,
)
from rakuten_kedro.preflight import check_prerequisites
from rakuten_kedro.run_lock import RunLock, remove_leftovers

logger = logging.getLogger(__name__)

#: The module whose ``register_pipelines`` builds the project's pipelines.
PIPELINE_REGISTRY = "rakuten_kedro.pipeline_registry"
#: The configuration environment every other one is merged onto (``settings.py``).
CONFIG_BASE_ENV = "base"


class GridEnvironmentHooks:
    """Keep the pipelines (built from the grid of an environment) and the session's environment
    the same, whichever entry point created the session.

    Kedro builds pipelines lazily and without an environment; ``grid.grid_environment`` reads it
    from the command line or ``KEDRO_ENV``. A session created through the Python API or a
    notebook (``KedroSession.create(env="rakuten")``) sets ``KEDRO_ENV`` here, as
    ``kedro jupyter --env`` does, and pipelines built for another environment are rebuilt on
    their next use. A run whose pipeline still has another grid's namespaces (a pipeline object
    kept from before) stops with a message instead of running a different shape.
    """

    @hook_impl(tryfirst=True)  # before the parameter check, which reads the pipelines
    def after_context_created(self, context: Any) -> None:
        env = context.env or "local"
        if grid_environment() != env:
            os.environ["KEDRO_ENV"] = env
        grid = load_grid(env, context.config_loader.conf_source)
        if not pipeline_matches_grid(pipelines.get("__default__", Pipeline([])), grid):
            pipelines.configure(PIPELINE_REGISTRY)

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline: Any) -> None:
        env = run_params.get("env") or "local"
        check_pipeline_matches_grid(pipeline, load_grid(env, run_params.get("conf_source")))


class ParameterChecksHooks:
    """Every parameter block the pipelines' nodes read, checked against its typed config as
    soon as a session's context exists (before Kedro builds the catalog and before any node):
    a mistyped, missing or wrongly typed key, or an unknown block, stops the run at once,
    naming the key and the YAML file (or ``--params``) that sets it."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        loader = context.config_loader
        env = context.env or "local"
        grid = load_grid(env, loader.conf_source)
        parameters = loader["parameters"]
        files = parameter_files(loader.conf_source, [CONFIG_BASE_ENV, env])
        active = grid.namespaces()
        known_variants = variants_declared_in(
            parameter_files(loader.conf_source, environments(loader.conf_source))
        )
        check_parameters(
            sum(pipelines.values(), start=Pipeline([])),
            lambda name: parameter_block(parameters, name),
            blocks={*FIXED_BLOCKS, *active["text"], *active["image"], *known_variants},
            files=files,
            runtime_params=getattr(loader, "runtime_params", None),
        )


class ProjectLockHooks:
    """One ``kedro run`` at a time per project; a killed run's temporary files are removed.

    It runs before every other hook (a wrapper around them). Under a multi-process launch rank
    0 holds the lock for all.
    ``RAKUTEN_WAIT_FOR_LOCK=1`` queues behind a running run instead of stopping.
    """

    def __init__(self) -> None:
        self._lock: RunLock | None = None

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params: dict) -> Generator[None, None, None]:
        # A wrapper: the lock is taken before every other hook, and given back when one of
        # them stops the run (the preflight), as Kedro calls no other hook then.
        if process_rank() == 0:
            data_dir = Path(run_params.get("project_path") or Path.cwd()) / "data"
            wait_for_lock = os.environ.get("RAKUTEN_WAIT_FOR_LOCK", "").strip().lower()
            wait = wait_for_lock in {"1", "true", "yes"}
            self._lock = RunLock(data_dir, wait=wait)
            self._lock.acquire()
            remove_leftovers(data_dir)
        try:
            return (yield)
        except BaseException:
            self._release()
            raise

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


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


class PreflightChecksHooks:
    """Check everything the run needs before its first node, and report all that is missing.

    Kedro orders independent nodes by name, so without this a missing-weights check may only
    run after other long nodes (the image cache, the TF-IDF baseline), and a missing upstream
    output or data folder would only show when its node loads it: one restart per problem.
    See ``rakuten_kedro/preflight.py`` for what is checked.
    """

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        check_prerequisites(pipeline, catalog, pipelines, run_params)


class DiscardStalePredictionsHooks:
    """A predict run first removes the previous ``predictions``, before anything can fail.

    Otherwise a run that fails (bad input, missing model) would leave the last run's file,
    made from another folder, looking like its output.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline: Any, catalog: Any) -> None:
        if "predictions" in pipeline.all_outputs():
            catalog["predictions"].discard()


class FinishedCheckpointsHooks:
    """At the end of a successful run that trains, delete the finished trainings' checkpoints
    when the user keeps none (``checkpoints.keep_finished: false``; see
    ``datasets/checkpoints.py``). Rank 0 only, and before the run's lock is given back.
    """

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, pipeline: Any, catalog: Any) -> None:
        if process_rank() == 0 and "checkpoints" in pipeline.inputs():
            catalog["checkpoints"].discard_finished()


class _SavedInMemory(AbstractDataset):
    """Loads from the wrapped dataset until the run saves one, then from memory; never writes.

    ``exists`` still answers for the files, so ``--only-missing-outputs`` picks the same nodes
    on every process.
    """

    def __init__(self, dataset: AbstractDataset) -> None:
        self._dataset = dataset
        self._memory = MemoryDataset()

    def load(self) -> Any:
        return self._memory.load() if self._memory.exists() else self._dataset.load()

    def save(self, data: Any) -> None:
        self._memory.save(data)

    def _exists(self) -> bool:
        return self._memory.exists() or self._dataset.exists()

    def _release(self) -> None:
        self._memory.release()

    def _describe(self) -> dict[str, Any]:
        return {"saves_in_memory_instead_of": str(self._dataset)}


class MainProcessSavesHooks:
    """Under a multi-process launch, only rank 0 writes the run's outputs.

    ``accelerate launch --num_processes N -m kedro run`` starts N copies of the whole run, and
    every copy must run every node: training gathers across processes, so a process that
    skipped a training node would leave the others waiting. Without this hook each copy would
    also save every output to the same files. On ranks other than 0 each dataset the pipeline
    writes is swapped for one that keeps the data in memory (later nodes of the same run load
    it from there) and loads the files otherwise (inputs made by earlier runs).
    """

    @hook_impl
    def before_pipeline_run(self, pipeline: Any, catalog: Any) -> None:
        if process_rank() == 0:
            return
        outputs = [
            name
            for name in sorted(pipeline.all_outputs())
            if name in catalog and not getattr(catalog[name], "builds_on_main_process_only", False)
        ]
        # Kedro warns at each replaced entry; here replacing them is the point.
        catalog_log = logging.getLogger("kedro.io.data_catalog")
        level = catalog_log.level
        catalog_log.setLevel(logging.ERROR)
        try:
            for name in outputs:
                catalog[name] = _SavedInMemory(catalog[name])
        finally:
            catalog_log.setLevel(level)
        logger.info(
            "process rank %d: %d outputs kept in memory, not saved", process_rank(), len(outputs)
        )
