"""SubmissionDataset writes each source's own submission format, and reads it back."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from rakuten_kedro.datasets.submission import SubmissionDataset

PREDICTIONS = pd.DataFrame(
    {
        "row_id": [84916, 84917, 84918],
        "productid": [111, 222, 333],
        "imageid": [999, 888, 777],
        "prdtypecode": [1280, 10, 2583],
    }
)


@pytest.mark.parametrize("source", ["challengedata", "demo"])
def test_challengedata_format_is_unnamed_id_then_prdtypecode(tmp_path, source):
    dataset = SubmissionDataset(filepath=str(tmp_path / "sub" / "submission.csv"), source=source)
    dataset.save(PREDICTIONS)
    lines = (tmp_path / "sub" / "submission.csv").read_text().splitlines()
    assert lines == [",prdtypecode", "84916,1280", "84917,10", "84918,2583"]
    assert dataset.load().to_dict("list") == {
        "row_id": [84916, 84917, 84918],
        "prdtypecode": [1280, 10, 2583],
    }
    assert not list((tmp_path / "sub").glob(".*tmp"))  # atomic write left nothing behind


def test_sigir_format_is_tab_separated_with_its_headers(tmp_path):
    dataset = SubmissionDataset(filepath=str(tmp_path / "submission.tsv"), source="sigir")
    dataset.save(PREDICTIONS)
    lines = (tmp_path / "submission.tsv").read_text().splitlines()
    assert lines[0] == "Integer_id\tImage_id\tProduct_id\tPrdtypecode"
    assert lines[1] == "84916\t999\t111\t1280"
    assert len(lines) == 4
    loaded = dataset.load()
    assert loaded.set_index("row_id")["prdtypecode"].to_dict() == {
        84916: 1280, 84917: 10, 84918: 2583,
    }  # fmt: skip


def test_submission_refuses_bad_tables_and_sources(tmp_path):
    with pytest.raises(DatasetError, match="unknown source 'kaggle'"):
        SubmissionDataset(filepath=str(tmp_path / "s.csv"), source="kaggle")
    sigir = SubmissionDataset(filepath=str(tmp_path / "s.tsv"), source="sigir")
    with pytest.raises(DatasetError, match=r"missing \['imageid', 'productid'\]"):
        sigir.save(PREDICTIONS[["row_id", "prdtypecode"]])
    challenge = SubmissionDataset(filepath=str(tmp_path / "s.csv"), source="challengedata")
    with pytest.raises(DatasetError, match=r"duplicated row_id \[84916\]"):
        challenge.save(pd.concat([PREDICTIONS, PREDICTIONS.head(1)]))
    with pytest.raises(DatasetError, match="no submission file"):
        challenge.load()
