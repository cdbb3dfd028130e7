"""Project commands: Kedro's ``run`` that ends on a user's error with its message alone, and
Kedro's ``registry`` group with ``--env`` like ``kedro run``.

A run stopped by a missing prerequisite (``PrerequisitesMissing``), bad input (a
``DatasetError`` such as the raw files' validation, a ``ConfigError`` for parameters) or another
run holding the project (``ProjectBusy``) prints its message and exits with status 1: the
message says what to do, and a wall of frames above it would only hide it. The full traceback
still goes to the log files (``info.log``) and, with ``kedro run -v``, to the console. Every
other option is Kedro's own ``run``'s.

The pipelines are built from the experiment grid of an environment, so describing them needs
the environment too: ``kedro registry describe ensemble --env rakuten`` shows the 12 rakuten
members, as ``KEDRO_ENV=rakuten kedro registry describe ensemble`` does. Kedro takes a project's
``cli.py`` commands before its own (``kedro.framework.cli.cli.KedroCLI.project_groups``).
"""

from __future__ import annotations

import logging
from typing import Any

import click
import yaml
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import KedroCliError, env_option
from kedro.framework.project import pipelines
from kedro.io import DatasetError

from rakuten_kedro.config import ConfigError
from rakuten_kedro.grid import grid_environment, load_grid
from rakuten_kedro.preflight import PrerequisitesMissing
from rakuten_kedro.run_lock import ProjectBusy

logger = logging.getLogger(__name__)

#: Errors whose message is the whole story for the user.
USER_ERRORS = (PrerequisitesMissing, DatasetError, ConfigError, ProjectBusy)


@click.group(name="kedro")
def cli() -> None:
    """Project commands."""


def _run(verbose: bool, **options: Any) -> Any:
    """Kedro's ``kedro run``; a user's error ends it with its message alone (see above)."""
    try:
        return kedro_run.callback(**options)
    except USER_ERRORS as error:
        if verbose:
            raise
        _log_traceback_to_files(error)
        raise click.ClickException(str(error)) from None


def _log_traceback_to_files(error: BaseException) -> None:
    """The full traceback, for the log files only (the console shows the message)."""
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        __file__,
        0,
        "kedro run stopped: %s",
        (type(error).__name__,),
        (type(error), error, error.__traceback__),
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


_VERBOSE = click.Option(
    ["--verbose", "-v"],
    is_flag=True,
    help="Show the full traceback when a missing prerequisite or bad input stops the run.",
)
cli.add_command(
    click.Command(
        "run",
        callback=_run,
        params=[*kedro_run.params, _VERBOSE],
        help=kedro_run.help,
        context_settings=kedro_run.context_settings,
    )
)


@cli.group()
def registry() -> None:
    """Commands for working with registered pipelines (of an environment's grid)."""


@registry.command("list")
@env_option
def list_registered_pipelines(env: str | None) -> None:
    """List the registered pipelines."""
    click.echo(yaml.dump(sorted(pipelines)))


@registry.command("describe")
@click.argument("name", nargs=1, default="__default__")
@env_option
def describe_registered_pipeline(name: str, env: str | None) -> None:
    """Describe a registered pipeline (default ``__default__``): its nodes, and the ensemble
    members and variants of the environment's grid that it runs."""
    if name not in pipelines:
        existing = ", ".join(sorted(pipelines))
        raise KedroCliError(f"'{name}' pipeline not found. Existing pipelines: [{existing}]")
    pipeline = pipelines[name]
    grid = load_grid(grid_environment())
    # What the pipeline itself runs: its namespaces, and the members its vote reads.
    used = {node.namespace.split(".")[0] for node in pipeline.nodes if node.namespace}
    used |= {dataset.split(".")[0] for node in pipeline.nodes for dataset in node.inputs}
    description = {
        "Environment": grid.environment,
        "Nodes": [f"{node.name} ({node._func_name})" for node in pipeline.nodes],
    }
    labels = {"text": "Text variants", "image": "Image variants", "members": "Ensemble members"}
    for kind, names in grid.namespaces().items():
        if names & used:
            description[labels[kind]] = sorted(names & used)
    click.echo(yaml.dump(description, sort_keys=False))
