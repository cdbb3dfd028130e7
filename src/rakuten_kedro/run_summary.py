"""The last thing a `kedro run` prints: the headline results and where the outputs are.

A run's log has a block per node; its end should say how well the method did and which files
to open, so nobody has to scroll back or know the catalog. It is printed, not logged: the log
handler wraps a table into a narrow column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from rakuten_kedro.distributed import process_rank
from rakuten_kedro.reporting.table import HEADLINE_METHODS, results_table

#: The outputs the summary points at, in its order: dataset name -> what the line says it is.
SUMMARY_OUTPUTS: dict[str, str] = {
    "results": "results",
    "headline_choice": "headline choice",
    "results_table_markdown": "results table",
    "methods_chart": "figure",
    "confusion_matrix_chart": "figure",
    "per_class_f1_chart": "figure",
    "submission": "submission",
    "predictions": "predictions",
    "label_issues": "label issues",
    "model_card": "model card",
}

#: The headline table's score columns: key in ``results.json`` -> column title.
_SCORE_TITLES = {"macro_f1": "macro-F1", "weighted_f1": "weighted-F1", "accuracy": "accuracy"}


def headline_table(
    results: Mapping[str, Mapping[str, float]], choice: Mapping[str, str] | None = None
) -> list[str]:
    """The headline methods' scores (%) as aligned plain-text lines, in the paper's order, each
    with the method chosen for it by validation macro-F1 (``choice``) when there is one."""
    table = results_table(results, choice)
    headline = table[table["key"].isin(HEADLINE_METHODS)]
    width = max(len("method"), *headline["key"].str.len())
    titles = [*_SCORE_TITLES.values(), *(["chosen"] if choice else [])]
    lines = ["  ".join([f"{'method':<{width}}", *titles])]
    for _, row in headline.iterrows():
        scores = [f"{row[key]:>{len(title)}.2f}" for key, title in _SCORE_TITLES.items()]
        chosen = row["chosen"] if isinstance(row["chosen"], str) else ""
        lines.append("  ".join([f"{row['key']:<{width}}", *scores, chosen]).rstrip())
    return lines


def summary_lines(
    results: Mapping[str, Mapping[str, float]] | None,
    paths: Mapping[str, str],
    choice: Mapping[str, str] | None = None,
) -> list[str]:
    """The summary's lines.

    Args:
        results: The content of ``results.json`` when the run wrote it, else None.
        paths: Dataset name (a key of ``SUMMARY_OUTPUTS``) -> the path the run wrote it to.
        choice: The ``headline_choice`` when the run wrote it (the table names the methods).

    Returns:
        A title, the headline table (with results), then one ``what  path`` line per output.
    """
    if not paths:
        return [
            "Run summary: this run made none of the results, figures, submission or label "
            "issues (a plain `kedro run` makes them all)."
        ]
    lines = ["Run summary"]
    if results:
        lines += ["Validation split, % (fusion and ensemble out-of-fold):"]
        lines += [f"  {line}" for line in headline_table(results, choice)]
    width = max(len(SUMMARY_OUTPUTS[name]) for name in paths)
    lines += [f"  {SUMMARY_OUTPUTS[name]:<{width}}  {path}" for name, path in paths.items()]
    return lines


def _display_path(dataset: Any, project_path: str | None) -> str | None:
    filepath = dataset._describe().get("filepath")
    if filepath is None:  # not a file: nothing to point at
        return None
    path = Path(filepath)
    if project_path and path.is_relative_to(project_path):
        return str(path.relative_to(project_path))
    return str(path)


def written_outputs(pipeline: Any, catalog: Any, project_path: str | None) -> dict[str, str]:
    """The ``SUMMARY_OUTPUTS`` that ``pipeline`` writes to files: name -> path (relative to
    ``project_path`` when inside it), in the summary's order."""
    produced = pipeline.all_outputs()
    names = [name for name in SUMMARY_OUTPUTS if name in produced and name in catalog]
    return {
        name: path
        for name in names
        if (path := _display_path(catalog.get(name), project_path)) is not None
    }


class RunSummaryHooks:
    """Print the run summary once the pipeline has finished (after every other hook)."""

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        if process_rank() != 0:
            return
        paths = written_outputs(pipeline, catalog, run_params.get("project_path"))
        results, choice = (
            catalog.get(name).load() if name in paths else None
            for name in ("results", "headline_choice")
        )
        print("\n".join(summary_lines(results, paths, choice)), flush=True)
