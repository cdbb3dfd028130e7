"""TorchModelDataset: saved weights + recipe reload into a module with identical outputs."""

import json

import pytest
import torch
from kedro.io import DatasetError

from rakuten_kedro.datasets.torch_model import TorchModelDataset, set_build_config
from rakuten_kedro.models.image import ResNetClassifier


def build_mlp(inputs: int, classes: int) -> torch.nn.Module:
    """A builder for the generic path (any module, recipe set by hand)."""
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, 8), torch.nn.ReLU(), torch.nn.Linear(8, classes)
    )


def test_image_classifier_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ResNetClassifier(18, num_classes=4, dcl_grid=3).eval()
    dataset = TorchModelDataset(filepath=str(tmp_path / "image_model"))
    assert not dataset.exists()
    dataset.save(model)
    assert dataset.exists()
    config = json.loads((tmp_path / "image_model" / "config.json").read_text())
    assert config["builder"] == "rakuten_kedro.models.image:build_image_classifier"
    assert config["kwargs"] == {"depth": 18, "num_classes": 4, "dcl_grid": 3}
    loaded = dataset.load()
    assert isinstance(loaded, ResNetClassifier) and not loaded.training
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))
        assert torch.equal(
            loaded(images, mode="dcl")["alignment"], model(images, mode="dcl")["alignment"]
        )
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no temp folder left


def test_any_module_with_a_recipe(tmp_path):
    model = set_build_config(build_mlp(5, 3), f"{__name__}:build_mlp", inputs=5, classes=3)
    dataset = TorchModelDataset(filepath=str(tmp_path / "mlp"))
    dataset.save(model)
    x = torch.rand(4, 5)
    loaded = dataset.load()
    assert torch.equal(loaded(x), model(x))
    dataset.save(loaded)  # a loaded module keeps its recipe, so it can be saved again
    assert torch.equal(dataset.load()(x), model(x))


def test_catalog_builder_is_the_fallback(tmp_path):
    dataset = TorchModelDataset(
        filepath=str(tmp_path / "mlp"),
        builder=f"{__name__}:build_mlp",
        builder_kwargs={"inputs": 2, "classes": 2},
    )
    model = build_mlp(2, 2)
    dataset.save(model)
    assert torch.equal(dataset.load()[0].weight, model[0].weight)


def test_clear_errors(tmp_path):
    dataset = TorchModelDataset(filepath=str(tmp_path / "none"))
    with pytest.raises(DatasetError, match="no saved model in"):
        dataset.load()
    with pytest.raises(DatasetError, match="has no 'build_config'"):
        dataset.save(build_mlp(2, 2))
    wrong = TorchModelDataset(
        filepath=str(tmp_path / "m"), builder=f"{__name__}:build_mlp",
        builder_kwargs={"inputs": 2, "classes": 2},
    )  # fmt: skip
    wrong.save(build_mlp(2, 2))
    config = tmp_path / "m" / "config.json"
    config.write_text(
        json.dumps({"builder": f"{__name__}:build_mlp", "kwargs": {"inputs": 3, "classes": 2}})
    )
    with pytest.raises(Exception, match="size mismatch|do not fit"):
        wrong.load()
