"""Fault injection on the new products of ``predict``: read as the training files are.

Each bad CSV gets the same clear error as a bad training file, naming the file (and the row or
column); a failed predict run leaves no ``predictions.csv`` behind. docs/reliability.md lists
these cases and what the user sees; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DatasetError

from rakuten_kedro.datasets.new_products import NewProductsDataset
from tests.kedro_project import kedro, scratch_project

BAD_CSVS = {
    "header only": (
        b"title,description,productid,imageid\n",
        r"new.csv has a header but no products",
    ),
    "latin-1": (
        "title,productid,imageid\nImperméable,1,2\n".encode("latin-1"),
        r"new.csv is not UTF-8 on 1 line\(s\): line 2 \(byte 30\): 'Imperm\\xe9able,1,2'",
    ),
    "id A-17": (
        b"title,productid,imageid\nLampe,A-17,5\n",
        r"new.csv: column 'productid' must hold integers; 1 value\(s\) are not "
        r"\(data row 1: 'A-17' \(not a number\)\)",
    ),
    "0 bytes": (b"", r"new.csv is empty \(0 bytes\)"),
    "semicolons": (
        b"title;description;productid;imageid\nLampe;Belle, grande;1;2\n",
        r"new.csv cannot be read as a comma-separated table: .* Its header looks "
        r"semicolon-separated; this file must be comma-separated",
    ),
    "semicolons, no comma": (
        b"title;productid;imageid\nLampe;1;2\n",
        r"new.csv has a single column \['title;productid;imageid'\]\. Its header looks "
        r"semicolon-separated",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_a_bad_csv_of_new_products_is_named(tmp_path: Path, case: str):
    content, message = BAD_CSVS[case]
    (tmp_path / "new.csv").write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        NewProductsDataset(input_dir=str(tmp_path)).load()


def test_new_products_follow_the_windows_1252_setting(tmp_path: Path):
    (tmp_path / "new.csv").write_bytes(
        "title,productid,imageid\nImperméable – 5 €,1,2\n".encode("cp1252")
    )
    dataset = NewProductsDataset(input_dir=str(tmp_path), non_utf8_lines="windows-1252")
    assert dataset.load()["title"].tolist() == ["Imperméable – 5 €"]


def test_a_failed_predict_run_removes_the_previous_predictions(tmp_path: Path):
    project = scratch_project(tmp_path / "project")
    stale = project / "data" / "07_model_output" / "predictions.csv"
    stale.write_text("row_id,prdtypecode\n84916,10\n")  # made from another folder
    # No model trained yet and no folder of new products: the preflight stops the run.
    result = kedro(project, "run", "--pipelines", "predict")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Run first: kedro run --pipelines preprocessing,text_model" in output
    assert 'No folder of new products: run kedro run --pipelines predict --params "' in output
    assert not stale.exists()
