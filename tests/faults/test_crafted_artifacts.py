"""A shared data/06_models/ must never be a way in: crafted model folders and checkpoints are
refused with a clear error, and the code they carry never runs (each payload would create a
file if it did)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from kedro.io import DatasetError

from rakuten_kedro.datasets.hf_model import HFModelDataset
from rakuten_kedro.datasets.tfidf_model import TfidfModelDataset
from rakuten_kedro.datasets.torch_model import TorchModelDataset
from rakuten_kedro.models.image import ResNetClassifier
from rakuten_kedro.text.transformer import build_text_classifier
from rakuten_kedro.training.checkpoint import checkpoint_path, load_checkpoint
from tests.text.products import CODES, TINY_MODEL, make_text_products


class Payload:
    """Pickled, it runs a shell command that creates ``marker`` when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "payload_ran"
    yield path
    assert not path.exists(), "the payload ran"


def saved_image_model(folder: Path) -> Path:
    TorchModelDataset(filepath=str(folder)).save(ResNetClassifier(18, num_classes=4))
    return folder / "config.json"


def test_a_model_config_naming_an_import_path_is_refused(tmp_path, marker):
    config = saved_image_model(tmp_path / "image_model")
    config.write_text(
        json.dumps({"builder": "subprocess:getoutput", "kwargs": {"cmd": f"touch {marker}"}})
    )
    with pytest.raises(DatasetError, match=r"names a Python import path .*Nothing was loaded"):
        TorchModelDataset(filepath=str(tmp_path / "image_model")).load()


@pytest.mark.parametrize(
    ("architecture", "kwargs", "message"),
    [
        ("subprocess:getoutput", {}, "unknown architecture 'subprocess:getoutput'"),
        ("resnet_classifier", {"weights_path": "/etc/passwd"}, r"takes .* not \['weights_path'\]"),
        ("resnet_classifier", {"depth": {"__class__": "x"}}, "must be a plain value"),
    ],
)
def test_a_model_config_outside_the_registry_is_refused(tmp_path, architecture, kwargs, message):
    config = saved_image_model(tmp_path / "image_model")
    config.write_text(json.dumps({"architecture": architecture, "kwargs": kwargs}))
    with pytest.raises(DatasetError, match=message):
        TorchModelDataset(filepath=str(tmp_path / "image_model")).load()


def test_weights_that_do_not_fit_the_named_architecture_are_refused(tmp_path):
    config = saved_image_model(tmp_path / "image_model")
    config.write_text(
        json.dumps({"architecture": "resnet_classifier", "kwargs": {"depth": 34, "num_classes": 4}})
    )
    with pytest.raises(DatasetError, match="do not fit the resnet_classifier"):
        TorchModelDataset(filepath=str(tmp_path / "image_model")).load()


def test_a_crafted_training_checkpoint_runs_nothing(tmp_path, marker):
    torch.save({"state": {"epochs_done": 1}, "x": Payload(marker)}, checkpoint_path(tmp_path))
    with pytest.raises(RuntimeError, match="Refusing to load the training checkpoint"):
        load_checkpoint(tmp_path)


@pytest.fixture(scope="module")
def text_model_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "text_model"
    model = build_text_classifier(make_text_products(40), CODES, TINY_MODEL, seed=0)
    HFModelDataset(filepath=str(folder)).save(model)
    return folder


def copy_of(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "text_model"))


def test_a_text_model_asking_for_remote_code_is_refused(text_model_folder, tmp_path, marker):
    folder = copy_of(text_model_folder, tmp_path)
    (folder / "evil.py").write_text(f"import os\nos.system('touch {marker}')\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DatasetError, match=r"names custom model code .*Nothing was loaded"):
        HFModelDataset(filepath=str(folder)).load()


def test_text_model_weights_are_read_from_safetensors_only(text_model_folder, tmp_path, marker):
    folder = copy_of(text_model_folder, tmp_path)
    (folder / "model.safetensors").unlink()
    torch.save({"weight": Payload(marker)}, folder / "pytorch_model.bin")
    with pytest.raises(Exception, match="safetensors|model.safetensors"):
        HFModelDataset(filepath=str(folder)).load()


def test_the_tfidf_model_is_never_unpickled(tmp_path, marker):
    folder = tmp_path / "tfidf_model"
    folder.mkdir()
    torch.save(Payload(marker), folder / "tfidf_model.pkl")  # what older versions wrote
    (folder / "tfidf.json").write_text("{}")
    (folder / "arrays.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(DatasetError, match="not a readable TF-IDF model"):
        TfidfModelDataset(filepath=str(folder)).load()
