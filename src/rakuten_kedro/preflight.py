"""Everything a run needs, checked before its first node and reported in one message.

A run that cannot finish should stop in seconds rather than after an hour of earlier work, and
name everything it lacks at once rather than one restart at a time. Before the first node,
``hooks.PreflightChecksHooks`` gathers into one :class:`Prerequisites`:

- the outputs of earlier pipelines that the run reads, makes none of and cannot find (a first
  ``kedro run --pipelines fusion``), by the pipeline that makes them, with the command to run
  first;
- what the run's input datasets say is wrong with them without reading their data (a
  ``describe_problems()`` method: the raw data folder and its layout, the new products'
  folder);
- the errors of the run's nodes tagged ``PREFLIGHT_TAG``, which check prerequisites from
  parameters alone (e.g. that pretrained weights can be found; such nodes are named
  ``check_…``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kedro.pipeline import Pipeline

PREFLIGHT_TAG = "preflight"

#: Datasets named per pipeline in the message (the command to run first makes them all).
SHOWN_PER_PIPELINE = 4


class PrerequisitesMissing(Exception):
    """A run cannot start: the message lists everything it lacks."""


@dataclass
class Prerequisites:
    """What a run lacks, gathered before its first node and reported at once.

    Attributes:
        missing_outputs: Pipeline that makes them -> datasets the run reads but cannot find.
        run_first: The command that makes them (and whatever they need in turn).
        problems: Every other problem, each a message that says how to fix it.
    """

    missing_outputs: dict[str, list[str]] = field(default_factory=dict)
    run_first: str = ""
    problems: list[str] = field(default_factory=list)

    def add_problem(self, problem: str) -> None:
        """Adds a problem once (two datasets over one missing folder report it alike)."""
        if problem not in self.problems:
            self.problems.append(problem)

    def message(self) -> str:
        """Every missing prerequisite, one item each, with what to do."""
        items = []
        if self.missing_outputs:
            lines = ["outputs of earlier pipelines that this run reads, not on disk:"]
            lines += [
                f"  {pipeline}: {_names(datasets)}"
                for pipeline, datasets in self.missing_outputs.items()
            ]
            lines.append(f"Run first: {self.run_first}")
            items.append("\n".join(lines))
        items += self.problems
        bullets = ["- " + textwrap.indent(item, "  ")[2:] for item in items]
        return "\n".join(["This run cannot start, it lacks (nothing was run):", *bullets])

    def raise_if_any(self) -> None:
        """Raises :class:`PrerequisitesMissing` when anything is missing."""
        if self.missing_outputs or self.problems:
            raise PrerequisitesMissing(self.message())


def _names(datasets: list[str]) -> str:
    shown = ", ".join(datasets[:SHOWN_PER_PIPELINE])
    more = len(datasets) - SHOWN_PER_PIPELINE
    return f"{shown} and {more} more" if more > 0 else shown


def producers(registered: Mapping[str, Pipeline]) -> dict[str, str]:
    """Each dataset a registered pipeline makes -> the first pipeline that makes it.

    Args:
        registered: The project's pipelines, in the method's order (``__default__`` is skipped:
            it is the others together).

    Returns:
        Dataset name -> pipeline name.
    """
    made_by: dict[str, str] = {}
    for name, pipeline in registered.items():
        if name != "__default__":
            for dataset in sorted(pipeline.all_outputs()):
                made_by.setdefault(dataset, name)
    return made_by


def missing_outputs(
    pipeline: Pipeline, catalog: Any, made_by: Mapping[str, str]
) -> dict[str, list[str]]:
    """The datasets ``pipeline`` reads and makes none of that are not on disk.

    Args:
        pipeline: The nodes to run.
        catalog: The run's catalog.
        made_by: From :func:`producers`; inputs no pipeline makes (raw data, parameters) are
            the user's, and are not looked for here.

    Returns:
        Pipeline that makes them -> the missing datasets, sorted.
    """
    missing: dict[str, list[str]] = {}
    for dataset in sorted(pipeline.inputs()):
        if dataset in made_by and not catalog.exists(dataset):
            missing.setdefault(made_by[dataset], []).append(dataset)
    return missing


def pipelines_to_run_first(
    pipeline: Pipeline, catalog: Any, registered: Mapping[str, Pipeline]
) -> list[str]:
    """The registered pipelines that make what ``pipeline`` lacks, and what those lack in turn.

    Args:
        pipeline: The nodes to run.
        catalog: The run's catalog.
        registered: The project's pipelines, in the method's order.

    Returns:
        Their names, in the registry's order.
    """
    made_by = producers(registered)
    needed: set[str] = set()
    combined = pipeline
    while new := set(missing_outputs(combined, catalog, made_by)) - needed:
        needed |= new
        combined = sum((registered[name] for name in needed), start=pipeline)
    return [name for name in registered if name in needed]


def run_command(pipelines: Iterable[str], run_params: Mapping[str, Any]) -> str:
    """``kedro run --pipelines …`` with the environment and ``--params`` of this run."""
    command = f"kedro run --pipelines {','.join(pipelines)}"
    if run_params.get("env") not in {None, "local"}:  # "local": Kedro's default environment
        command += f" --env {run_params['env']}"
    runtime_params = _dotted(run_params.get("runtime_params") or {})
    if runtime_params:
        command += ' --params "' + ",".join(f"{k}={v}" for k, v in runtime_params.items()) + '"'
    return command


def _dotted(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"demo": {"n_products": 1200}}`` -> ``{"demo.n_products": 1200}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def input_problems(pipeline: Pipeline, catalog: Any) -> list[str]:
    """What the run's input datasets say is wrong with them (``describe_problems()``)."""
    problems = []
    for name in sorted(pipeline.inputs()):
        describe = getattr(catalog.get(name), "describe_problems", None)
        if describe is not None:
            problems += describe()
    return problems


def check_problems(pipeline: Pipeline, catalog: Any) -> list[str]:
    """The message of each ``PREFLIGHT_TAG`` node of ``pipeline`` that fails.

    A check node raises to report what is missing; each one runs, so that every problem is
    reported together. Its inputs are parameters, given in order (read from the datasets
    directly: the catalog would log a line for each).
    """
    problems = []
    for node in pipeline.nodes:
        if PREFLIGHT_TAG in node.tags:
            try:
                node.func(*(catalog.get(name).load() for name in node.inputs))
            except Exception as error:  # noqa: BLE001 - reported with the others
                problems.append(str(error))
    return problems


def check_prerequisites(
    pipeline: Pipeline,
    catalog: Any,
    registered: Mapping[str, Pipeline],
    run_params: Mapping[str, Any],
) -> None:
    """Stops the run before its first node when anything it needs is missing.

    Args:
        pipeline: The nodes to run.
        catalog: The run's catalog.
        registered: The project's pipelines, in the method's order.
        run_params: Kedro's run parameters (``env``, ``runtime_params``) for the command.

    Raises:
        PrerequisitesMissing: Listing everything missing, with what to do for each.
    """
    missing = missing_outputs(pipeline, catalog, producers(registered))
    prerequisites = Prerequisites({name: missing[name] for name in registered if name in missing})
    if prerequisites.missing_outputs:
        first = pipelines_to_run_first(pipeline, catalog, registered)
        prerequisites.run_first = run_command(first, run_params)
    for problem in [*check_problems(pipeline, catalog), *input_problems(pipeline, catalog)]:
        prerequisites.add_problem(problem)
    prerequisites.raise_if_any()
