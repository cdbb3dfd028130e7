"""HFModelDataset: a save_pretrained folder through the catalog."""

from __future__ import annotations

import pytest
import torch
from kedro.io import DatasetError, Version

from rakuten_kedro.datasets.hf_model import HFModelDataset
from rakuten_kedro.models.text import TextClassifier
from rakuten_kedro.text.transformer import build_text_classifier
from tests.text.products import CODES, TINY_MODEL, make_text_products


@pytest.fixture(scope="module")
def model():
    return build_text_classifier(make_text_products(40), CODES, TINY_MODEL, seed=0).eval()


def logits(model):
    encoded = model.tokenizer(["piscine bâche"], ["pompe"], return_tensors="pt")
    with torch.no_grad():
        return model(encoded["input_ids"], encoded["attention_mask"])["logits"]


def test_round_trip(model, tmp_path):
    dataset = HFModelDataset(filepath=str(tmp_path / "text_model"))
    assert not dataset.exists()
    dataset.save(model)
    assert dataset.exists()
    saved = {p.name for p in (tmp_path / "text_model").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= saved
    assert [p.name for p in tmp_path.iterdir()] == ["text_model"]  # no temporary folder left
    loaded = dataset.load()
    assert isinstance(loaded, TextClassifier) and not loaded.training
    torch.testing.assert_close(logits(loaded), logits(model))
    dataset.save(loaded)  # overwriting an existing folder works
    torch.testing.assert_close(logits(dataset.load()), logits(model))


def test_versioned_saves_keep_each_version(model, tmp_path):
    first = HFModelDataset(filepath=str(tmp_path / "m"), version=Version(None, "v1"))
    first.save(model)
    assert (tmp_path / "m" / "v1" / "m" / "config.json").is_file()
    HFModelDataset(filepath=str(tmp_path / "m"), version=Version(None, "v2")).save(model)
    latest = HFModelDataset(filepath=str(tmp_path / "m"), version=Version(None, None))
    assert latest.resolve_load_version() == "v2"
    torch.testing.assert_close(logits(latest.load()), logits(model))


def test_failed_save_keeps_the_previous_model(model, tmp_path):
    dataset = HFModelDataset(filepath=str(tmp_path / "text_model"))
    dataset.save(model)

    class Broken:
        def save_pretrained(self, folder):
            (folder / "partial.bin").write_bytes(b"x")
            raise OSError("disk full")

    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(Broken())
    assert [p.name for p in tmp_path.iterdir()] == ["text_model"]
    torch.testing.assert_close(logits(dataset.load()), logits(model))


def test_errors_are_explicit(tmp_path):
    dataset = HFModelDataset(filepath=str(tmp_path / "nothing"))
    with pytest.raises(DatasetError, match="run the pipeline that trains it first"):
        dataset.load()
    with pytest.raises(DatasetError, match="save_pretrained"):
        dataset.save({"not": "a model"})
    (tmp_path / "m").mkdir()
    with pytest.raises(DatasetError, match="unknown architecture 'no.such.Class'"):
        HFModelDataset(filepath=str(tmp_path / "m"), architecture="no.such.Class")
