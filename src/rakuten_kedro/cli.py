"""Project commands: Kedro's ``registry`` group, with ``--env`` like ``kedro run``.

The pipelines are built from the experiment grid of an environment, so describing them needs
the environment too: ``kedro registry describe ensemble --env rakuten`` shows the 12 rakuten
members, as ``KEDRO_ENV=rakuten kedro registry describe ensemble`` does. Kedro takes a project's
``cli.py`` commands before its own (``kedro.framework.cli.cli.KedroCLI.project_groups``).
"""

from __future__ import annotations

import click
import yaml
from kedro.framework.cli.utils import KedroCliError, env_option
from kedro.framework.project import pipelines

from rakuten_kedro.grid import grid_environment, load_grid


@click.group(name="kedro")
def cli() -> None:
    """Project commands."""


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
