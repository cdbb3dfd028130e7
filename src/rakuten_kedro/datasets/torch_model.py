"""``TorchModelDataset``: a PyTorch model saved as weights + the name of its architecture.

A saved model is a folder with two files:

- ``model.safetensors``: the state dict (safetensors: tensors only, no pickle);
- ``config.json``: ``{"architecture": "<key>", "kwargs": {...}, "metadata": {...}}``, a key of
  the project's fixed architecture registry (``rakuten_kedro.models.registry``) and the plain
  arguments of its builder.

Loading builds that architecture, loads the weights and returns a ready ``nn.Module`` in eval
mode. Nothing in the folder is imported or executed: an unknown architecture, an argument the
builder does not declare, or weights that do not fit are refused with an error naming the file.
The recipe comes from the module itself (a ``build_config`` attribute or property, e.g.
``ResNetClassifier``; use :func:`set_build_config` for the project's other modules).

``versioned: true`` keeps every saved model under ``filepath/<timestamp>/<name>`` (loading
picks the newest unless a version is given).

Example catalog entry::

    image_model:
      type: rakuten_kedro.datasets.torch_model.TorchModelDataset
      filepath: data/06_models/image_model
      versioned: true
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from rakuten_kedro.atomic import atomic_folder
from rakuten_kedro.models.registry import UnknownArchitecture, build_architecture

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def set_build_config(
    model: torch.nn.Module,
    architecture: str,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> torch.nn.Module:
    """Attach the rebuild recipe to ``model`` (returned for chaining).

    Args:
        model: A module of one of the registered architectures.
        architecture: Its key in ``rakuten_kedro.models.registry.ARCHITECTURES``.
        metadata: Free-form JSON-serialisable information saved beside it.
        **kwargs: Plain keyword arguments of that architecture's builder.

    Returns:
        ``model``, with a ``build_config`` attribute.
    """
    model.build_config = {"architecture": architecture, "kwargs": kwargs}
    if metadata:
        model.build_config["metadata"] = metadata
    return model


def _plain_module(model: torch.nn.Module) -> torch.nn.Module:
    # Unwrap torch.compile and DDP/DataParallel so the saved names have no prefixes.
    model = getattr(model, "_orig_mod", model)
    while isinstance(model, torch.nn.parallel.DistributedDataParallel | torch.nn.DataParallel):
        model = model.module
    return model


class TorchModelDataset(AbstractVersionedDataset[torch.nn.Module, torch.nn.Module]):
    """Save a ``nn.Module`` as safetensors weights + architecture key; load it ready to use.

    Args:
        filepath: Folder of the saved model (local path).
        load_args: ``{"device": "cpu"}`` (default) or another device to load the weights onto.
        version: Kedro version (set by ``versioned: true`` in the catalog).
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._load_args = {"device": "cpu", **(load_args or {})}
        self.metadata = metadata

    @property
    def _dir(self) -> Path:
        """The folder to load from (the newest version when versioned)."""
        return Path(str(self._get_load_path()))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def _exists(self) -> bool:
        try:
            folder = self._dir
        except DatasetError:  # versioned, and no version saved yet
            return False
        return (folder / WEIGHTS_FILE).is_file() and (folder / CONFIG_FILE).is_file()

    def load(self) -> torch.nn.Module:
        """Build the architecture named in ``config.json`` and load ``model.safetensors``."""
        if not self._exists():
            raise DatasetError(
                f"no saved model in {self._filepath} (expected {WEIGHTS_FILE} and "
                f"{CONFIG_FILE}): run the pipeline that trains it first"
            )
        folder = self._dir
        config = _read_config(folder / CONFIG_FILE)
        try:
            model = build_architecture(config.get("architecture"), config.get("kwargs", {}))
        except UnknownArchitecture as error:
            raise DatasetError(f"{folder / CONFIG_FILE}: {error}. Nothing was loaded.") from error
        try:
            missing, unexpected = load_model(
                model, folder / WEIGHTS_FILE, strict=False, device=self._load_args["device"]
            )
        except (SafetensorError, RuntimeError, OSError) as error:
            raise DatasetError(
                f"weights in {folder / WEIGHTS_FILE} do not fit the {config['architecture']} "
                f"built from {CONFIG_FILE}: {error}"
            ) from error
        if missing or unexpected:
            raise DatasetError(
                f"weights in {folder / WEIGHTS_FILE} do not fit the {config['architecture']} "
                f"built from {CONFIG_FILE}: missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]}"
            )
        if not isinstance(getattr(type(model), "build_config", None), property):
            model.build_config = config  # so that saving the loaded model again works
        return model.eval()

    def save(self, data: torch.nn.Module) -> None:
        """Write weights and recipe atomically (a temporary folder renamed into place)."""
        if not isinstance(data, torch.nn.Module):
            raise DatasetError(f"TorchModelDataset saves a torch.nn.Module, got {type(data)}")
        model = _plain_module(data)
        config = getattr(model, "build_config", None)
        if not config or "architecture" not in config:
            raise DatasetError(
                f"cannot save {type(model).__name__} to {self._filepath}: it has no "
                "'build_config' naming a registered architecture (see "
                "rakuten_kedro.datasets.torch_model.set_build_config)"
            )
        try:
            text = json.dumps(dict(config), indent=2)
        except TypeError as error:
            raise DatasetError(f"model build_config is not JSON-serialisable: {error}") from error
        with atomic_folder(Path(str(self._get_save_path()))) as folder:
            save_model(model, str(folder / WEIGHTS_FILE))
            (folder / CONFIG_FILE).write_text(text, encoding="utf-8")


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a valid model config: {error}") from error
    if not isinstance(config, dict):
        raise DatasetError(f"{path} is not a valid model config: not a JSON object")
    if "builder" in config:
        raise DatasetError(
            f"{path} names a Python import path ('builder': {config['builder']!r}), written by an "
            "older rakuten_kedro or by someone else: this version never imports code named in a "
            "model folder. Nothing was loaded. Retrain the model (kedro run) to save it in the "
            "current format."
        )
    return config
