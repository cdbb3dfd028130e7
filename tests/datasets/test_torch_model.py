"""TorchModelDataset: saved weights + architecture key reload into a module with identical
outputs (crafted folders: tests/faults/test_crafted_artifacts.py)."""

import json

import pytest
import torch
from kedro.io import DatasetError

from rakuten_kedro.datasets.torch_model import TorchModelDataset, set_build_config
from rakuten_kedro.models.fusion import build_decision_fold_ensemble
from rakuten_kedro.models.image import ResNetClassifier


def test_image_classifier_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ResNetClassifier(18, num_classes=4, dcl_grid=3).eval()
    dataset = TorchModelDataset(filepath=str(tmp_path / "image_model"))
    assert not dataset.exists()
    dataset.save(model)
    assert dataset.exists()
    config = json.loads((tmp_path / "image_model" / "config.json").read_text())
    assert config == {
        "architecture": "resnet_classifier",
        "kwargs": {"depth": 18, "num_classes": 4, "dcl_grid": 3},
    }
    loaded = dataset.load()
    assert isinstance(loaded, ResNetClassifier) and not loaded.training
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))
        assert torch.equal(
            loaded(images, mode="dcl")["alignment"], model(images, mode="dcl")["alignment"]
        )
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no temp folder left


def test_a_registered_module_with_its_recipe_round_trips(tmp_path):
    recipe = {"num_folds": 3, "num_inputs": 8, "num_classes": 4, "hidden": 2, "residual": True}
    model = set_build_config(
        build_decision_fold_ensemble(**recipe), "decision_fold_ensemble", {"codes": [1, 2]},
        **recipe,
    )  # fmt: skip
    dataset = TorchModelDataset(filepath=str(tmp_path / "fusion"))
    dataset.save(model)
    x = torch.rand(5, 8)
    loaded = dataset.load()
    assert torch.equal(loaded(x), model(x))
    assert loaded.build_config["metadata"] == {"codes": [1, 2]}
    dataset.save(loaded)  # a loaded module keeps its recipe, so it can be saved again
    assert torch.equal(dataset.load()(x), model(x))


def test_clear_errors(tmp_path):
    dataset = TorchModelDataset(filepath=str(tmp_path / "none"))
    with pytest.raises(DatasetError, match="no saved model in"):
        dataset.load()
    with pytest.raises(DatasetError, match="no 'build_config' naming a registered architecture"):
        dataset.save(torch.nn.Linear(2, 2))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").write_bytes(b"")
    (tmp_path / "m" / "config.json").write_text("not json")
    with pytest.raises(DatasetError, match="is not a valid model config"):
        TorchModelDataset(filepath=str(tmp_path / "m")).load()
