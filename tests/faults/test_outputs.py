"""Outputs: a full disk or an unwritable folder gives an error naming the file, leaves no temp
file and keeps the previous output; ``versioned: true`` model datasets keep every run's model.

Tests run as root, where ``chmod`` blocks nothing: an unwritable folder is a path whose parent
is a file, and a full disk is an ``OSError(ENOSPC)`` injected into the write (or a real write
to ``/dev/full``).
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from kedro.io import DataCatalog, DatasetError
from kedro.io.core import Version
from kedro_datasets.pandas import ParquetDataset

from rakuten_kedro import atomic
from rakuten_kedro.datasets import hf_model, torch_model
from rakuten_kedro.datasets.hf_model import HFModelDataset
from rakuten_kedro.datasets.torch_model import TorchModelDataset, set_build_config
from rakuten_kedro.models.fusion import build_decision_fold_ensemble
from rakuten_kedro.training import checkpoint
from rakuten_kedro.training.checkpoint import load_checkpoint, save_checkpoint

DISK_FULL = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def leftovers(folder: Path) -> list[str]:
    """Hidden (temporary) files or folders left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "not_a_folder"
    path.write_text("I am a file")
    return path


# --- atomic.py ----------------------------------------------------------------------------


def test_atomic_write_into_a_path_under_a_file_names_the_target(a_file: Path):
    target = a_file / "results.json"
    with pytest.raises(OSError, match=f"cannot write {target}"):
        atomic.write_json_atomically(target, {"a": 1})


def test_atomic_write_on_a_full_disk_names_the_target_and_keeps_the_old_file(tmp_path: Path):
    target = tmp_path / "results.json"
    atomic.write_json_atomically(target, {"run": 1})
    with pytest.raises(OSError, match=f"cannot write {target}: No space left") as caught:
        with atomic.atomic_path(target) as temp:
            temp.write_text('{"run": 2, "half')
            raise DISK_FULL
    assert caught.value.errno == errno.ENOSPC
    assert json.loads(target.read_text()) == {"run": 1}
    assert leftovers(tmp_path) == []


def test_atomic_rename_refused_keeps_the_old_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "results.json"
    atomic.write_json_atomically(target, {"run": 1})

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(src))

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError, match=f"cannot write {target}: Permission denied"):
        atomic.write_json_atomically(target, {"run": 2})
    assert json.loads(target.read_text()) == {"run": 1}
    assert leftovers(tmp_path) == []


# --- training checkpoints -------------------------------------------------------------------


def test_checkpoint_under_a_file_names_the_checkpoint(a_file: Path):
    with pytest.raises(OSError, match=f"cannot write {a_file / 'ckpt' / 'checkpoint.pt'}"):
        save_checkpoint({"epochs_done": 1}, a_file / "ckpt")


@pytest.mark.parametrize("failure", ["ENOSPC", "/dev/full"])
def test_checkpoint_on_a_full_disk_keeps_the_previous_one(tmp_path: Path, monkeypatch, failure):
    save_checkpoint({"epochs_done": 1, "w": torch.ones(3)}, tmp_path)
    real_save = torch.save

    def full_disk(state, handle):
        if failure == "ENOSPC":
            handle.write(b"PK\x03\x04 half a checkpoint")
            raise DISK_FULL
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full on this system")
        with open("/dev/full", "wb") as full:  # a real ENOSPC, as torch's writer reports it
            real_save(state, full)

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    with pytest.raises((OSError, RuntimeError), match=f"cannot write {tmp_path / 'checkpoint.pt'}"):
        save_checkpoint({"epochs_done": 2, "w": torch.zeros(100_000)}, tmp_path)
    assert load_checkpoint(tmp_path)["epochs_done"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


# --- parquet and model outputs ---------------------------------------------------------------


def test_parquet_output_under_a_file_names_the_path(a_file: Path):
    target = a_file / "val_probs.parquet"
    with pytest.raises(DatasetError, match=str(a_file)):
        ParquetDataset(filepath=str(target)).save(pd.DataFrame({"row_id": [1]}))


TINY = {"num_folds": 1, "num_inputs": 4, "num_classes": 2}


def tiny_module() -> torch.nn.Module:
    torch.manual_seed(0)
    return set_build_config(build_decision_fold_ensemble(**TINY), "decision_fold_ensemble", **TINY)


def weight(model: torch.nn.Module) -> torch.Tensor:
    return next(model.parameters())


class Pretrained:
    """Minimal ``save_pretrained``/``from_pretrained`` object for ``HFModelDataset``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def save_pretrained(self, folder: Path) -> None:
        (Path(folder) / "value.json").write_text(json.dumps(self.value))

    @classmethod
    def from_pretrained(cls, folder: Path) -> Pretrained:
        return cls(json.loads((Path(folder) / "value.json").read_text()))


@pytest.fixture(autouse=True)
def pretrained_is_a_folder_class(monkeypatch):
    monkeypatch.setitem(hf_model.FOLDER_CLASSES, "pretrained", Pretrained)


def test_model_save_on_a_full_disk_names_the_path_and_keeps_the_previous_model(
    tmp_path: Path, monkeypatch
):
    dataset = TorchModelDataset(filepath=str(tmp_path / "image_model"))
    dataset.save(tiny_module())
    before = weight(dataset.load()).clone()

    def full_disk(model, filename):
        Path(filename).write_bytes(b"half")
        raise DISK_FULL

    monkeypatch.setattr(torch_model, "save_model", full_disk)
    with pytest.raises(DatasetError, match=f"{tmp_path / 'image_model'}.*\n.*No space left"):
        dataset.save(tiny_module())
    assert torch.equal(weight(dataset.load()), before)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["torch", "hf"])
def test_model_rename_refused_restores_the_previous_model(tmp_path: Path, monkeypatch, kind):
    if kind == "torch":
        dataset = TorchModelDataset(filepath=str(tmp_path / "model"))
        first, second = tiny_module(), tiny_module()
        with torch.no_grad():
            weight(second).add_(1.0)
    else:
        dataset = HFModelDataset(filepath=str(tmp_path / "model"), architecture="pretrained")
        first, second = Pretrained(1), Pretrained(2)
    dataset.save(first)
    real_replace = os.replace

    def refuse_new_folder(src, dst):
        if Path(src).name.startswith(".model.tmp-"):  # the new model, moved into place
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse_new_folder)
    with pytest.raises(DatasetError, match=str(tmp_path / "model")):
        dataset.save(second)
    loaded = dataset.load()
    if kind == "torch":
        assert torch.equal(weight(loaded), weight(first))
    else:
        assert loaded.value == 1
    assert leftovers(tmp_path) == []


# --- versioned: true ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["torch", "hf"])
def test_versioned_model_keeps_every_run_and_loads_the_newest(tmp_path: Path, kind):
    entry = {"filepath": str(tmp_path / "model"), "versioned": True}
    if kind == "torch":
        entry["type"] = "rakuten_kedro.datasets.torch_model.TorchModelDataset"
        models = [tiny_module(), tiny_module()]
        with torch.no_grad():
            weight(models[1]).add_(1.0)
    else:
        entry["type"] = "rakuten_kedro.datasets.hf_model.HFModelDataset"
        entry["architecture"] = "pretrained"
        models = [Pretrained(1), Pretrained(2)]
    for model in models:  # two `kedro run`s: each catalog gets its own save version
        DataCatalog.from_config({"model": entry}).save("model", model)
        time.sleep(0.01)  # versions are millisecond timestamps
    versions = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert len(versions) == 2
    newest = DataCatalog.from_config({"model": entry}).load("model")
    oldest = DataCatalog.from_config({"model": entry}, load_versions={"model": versions[0]}).load(
        "model"
    )
    if kind == "torch":
        assert torch.equal(weight(newest), weight(models[1]))
        assert torch.equal(weight(oldest), weight(models[0]))
    else:
        assert (newest.value, oldest.value) == (2, 1)


def test_versioned_torch_model_refuses_to_overwrite_a_version(tmp_path: Path):
    version = Version(None, "2026-01-01T00.00.00.000Z")
    TorchModelDataset(filepath=str(tmp_path / "m"), version=version).save(tiny_module())
    with pytest.raises(DatasetError, match="must not exist if versioning is enabled"):
        TorchModelDataset(filepath=str(tmp_path / "m"), version=version).save(tiny_module())
    assert not TorchModelDataset(
        filepath=str(tmp_path / "other"), version=Version(None, None)
    ).exists()
