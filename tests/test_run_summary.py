"""The run summary: headline results and output paths, printed after everything else."""

from __future__ import annotations

import json
from pathlib import Path

from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset

from rakuten_kedro.run_summary import RunSummaryHooks, summary_lines

RESULTS = {
    "image": {"macro_f1": 0.4872, "weighted_f1": 0.5942, "accuracy": 0.6333},
    "text": {"macro_f1": 0.7454, "weighted_f1": 0.8109, "accuracy": 0.8167},
    "ensemble": {"macro_f1": 0.8808, "weighted_f1": 0.9043, "accuracy": 0.9067},
    "text_tfidf": {"macro_f1": 0.7163, "weighted_f1": 0.7877, "accuracy": 0.7933},
}


def _identity(value):
    return value


def test_summary_has_the_headline_scores_in_percent_then_one_line_per_output():
    paths = {"results": "data/08_reporting/results.json", "submission": "data/sub.csv"}
    lines = summary_lines(RESULTS, paths)
    assert lines[0] == "Run summary"
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:-2]}
    assert rows["method"] == ["macro-F1", "weighted-F1", "accuracy"]
    assert rows["image"] == ["48.72", "59.42", "63.33"]
    assert rows["ensemble"] == ["88.08", "90.43", "90.67"]
    assert "text_tfidf" not in rows  # extras stay in results_table.md
    assert lines[-2:] == [
        "  results     data/08_reporting/results.json",
        "  submission  data/sub.csv",
    ]


def test_summary_names_the_method_each_headline_row_shows():
    paths = {"results": "data/08_reporting/results.json"}
    lines = summary_lines(RESULTS, paths, {"text": "text_tfidf", "image": "image_plain"})
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:-1]}
    assert rows["method"] == ["macro-F1", "weighted-F1", "accuracy", "chosen"]
    assert rows["text"] == ["74.54", "81.09", "81.67", "text_tfidf"]
    assert rows["ensemble"] == ["88.08", "90.43", "90.67"]  # measured, not chosen


def test_a_run_without_results_says_so_in_one_line():
    (line,) = summary_lines(None, {})
    assert line.startswith("Run summary: this run made none of the results")


def test_hook_lists_what_this_run_wrote_relative_to_the_project(tmp_path: Path, capsys):
    results_path = tmp_path / "data" / "results.json"
    results_path.parent.mkdir()
    results_path.write_text(json.dumps(RESULTS))
    (tmp_path / "data" / "headline_choice.json").write_text(json.dumps({"image": "image_a"}))
    catalog = DataCatalog(
        {
            "results": JSONDataset(filepath=str(results_path)),
            "headline_choice": JSONDataset(filepath=str(tmp_path / "data/headline_choice.json")),
            "label_issues": CSVDataset(filepath=str(tmp_path / "data" / "label_issues.csv")),
            "submission": CSVDataset(filepath=str(tmp_path / "data" / "submission.csv")),
            "model_card": MemoryDataset(),  # not a file: not listed
        }
    )
    pipeline = Pipeline(
        [
            Node(_identity, "scores", "results", name="score"),
            Node(_identity, "choice", "headline_choice", name="choose"),
            Node(_identity, "issues", "label_issues", name="issues"),
            Node(_identity, "card", "model_card", name="card"),
        ]
    )
    RunSummaryHooks().after_pipeline_run(
        run_params={"project_path": str(tmp_path)}, pipeline=pipeline, catalog=catalog
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Run summary"
    assert [line.split() for line in printed if line.startswith("  image ")] == [
        ["image", "48.72", "59.42", "63.33", "image_a"]
    ]
    assert printed[-3:] == [
        "  results          data/results.json",
        "  headline choice  data/headline_choice.json",
        "  label issues     data/label_issues.csv",
    ]
    assert not [line for line in printed if "submission" in line]  # not written by this run
