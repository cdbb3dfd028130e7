"""``TorchModelDataset``: a PyTorch model saved as weights + the recipe to rebuild it.

A saved model is a folder with two files:

- ``model.safetensors``: the state dict (safetensors: no pickle, loads lazily);
- ``config.json``: ``{"builder": "package.module:function", "kwargs": {...}}``, the function
  that rebuilds the (untrained) module, plus optional free-form ``"metadata"``.

Loading imports the builder, calls it with the kwargs, loads the weights and returns a ready
``nn.Module`` in eval mode. The recipe comes from the module itself (a ``build_config``
attribute or property, e.g. ``ResNetClassifier``; use :func:`set_build_config` for any other
module), or else from the dataset's own ``builder``/``builder_kwargs`` arguments. Builders must
not fetch pretrained weights (the saved ones replace them anyway).

``versioned: true`` keeps every saved model under ``filepath/<timestamp>/<name>`` (loading
picks the newest unless a version is given).

Example catalog entry::

    image_model:
      type: rakuten_kedro.datasets.torch_model.TorchModelDataset
      filepath: data/06_models/image_model
      versioned: true
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version
from safetensors.torch import load_model, save_model

from rakuten_kedro.atomic import atomic_folder

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def set_build_config(
    model: torch.nn.Module,
    builder: str,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> torch.nn.Module:
    """Attach the rebuild recipe to ``model`` (returned for chaining).

    Args:
        model: Any module.
        builder: ``"package.module:function"`` returning an untrained module of the same
            architecture when called with ``kwargs``.
        metadata: Free-form JSON-serialisable information saved beside it.
        **kwargs: JSON-serialisable keyword arguments of the builder.

    Returns:
        ``model``, with a ``build_config`` attribute.
    """
    model.build_config = {"builder": builder, "kwargs": kwargs}
    if metadata:
        model.build_config["metadata"] = metadata
    return model


def resolve_builder(builder: str) -> Callable[..., torch.nn.Module]:
    """Import ``"package.module:function"``."""
    module_name, sep, attribute = builder.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"builder must look like 'package.module:function', got {builder!r}")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import model builder {builder!r}: {error}") from error


def _plain_module(model: torch.nn.Module) -> torch.nn.Module:
    # Unwrap torch.compile and DDP/DataParallel so the saved names have no prefixes.
    model = getattr(model, "_orig_mod", model)
    while isinstance(model, torch.nn.parallel.DistributedDataParallel | torch.nn.DataParallel):
        model = model.module
    return model


class TorchModelDataset(AbstractVersionedDataset[torch.nn.Module, torch.nn.Module]):
    """Save a ``nn.Module`` as safetensors weights + rebuild recipe; load it ready to use.

    Args:
        filepath: Folder of the saved model (local path).
        builder: Fallback ``"package.module:function"`` for modules without ``build_config``.
        builder_kwargs: Keyword arguments for that fallback builder.
        load_args: ``{"device": "cpu"}`` (default) or another device to load the weights onto.
        version: Kedro version (set by ``versioned: true`` in the catalog).
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(
        self,
        *,
        filepath: str,
        builder: str | None = None,
        builder_kwargs: dict[str, Any] | None = None,
        load_args: dict[str, Any] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._builder = builder
        self._builder_kwargs = dict(builder_kwargs or {})
        self._load_args = {"device": "cpu", **(load_args or {})}
        self.metadata = metadata

    @property
    def _dir(self) -> Path:
        """The folder to load from (the newest version when versioned)."""
        return Path(str(self._get_load_path()))

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "builder": self._builder,
            "version": self._version,
        }

    def _exists(self) -> bool:
        try:
            folder = self._dir
        except DatasetError:  # versioned, and no version saved yet
            return False
        return (folder / WEIGHTS_FILE).is_file() and (folder / CONFIG_FILE).is_file()

    def load(self) -> torch.nn.Module:
        """Rebuild the module from ``config.json`` and load ``model.safetensors`` into it."""
        if not self._exists():
            raise DatasetError(
                f"no saved model in {self._filepath} (expected {WEIGHTS_FILE} and "
                f"{CONFIG_FILE}): run the pipeline that trains it first"
            )
        folder = self._dir
        config_path = folder / CONFIG_FILE
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            builder, kwargs = config["builder"], config.get("kwargs", {})
        except (ValueError, KeyError) as error:
            raise DatasetError(f"{config_path} is not a valid model config: {error}") from error
        model = resolve_builder(builder)(**kwargs)
        missing, unexpected = load_model(
            model, folder / WEIGHTS_FILE, strict=False, device=self._load_args["device"]
        )
        if missing or unexpected:
            raise DatasetError(
                f"weights in {folder / WEIGHTS_FILE} do not fit the module built by "
                f"{builder}({kwargs}): missing {missing[:5]}, unexpected {unexpected[:5]}"
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
        if config is None and self._builder:
            config = {"builder": self._builder, "kwargs": self._builder_kwargs}
        if not config or "builder" not in config:
            raise DatasetError(
                f"cannot save {type(model).__name__} to {self._filepath}: it has no 'build_config' "
                "(use rakuten_kedro.datasets.torch_model.set_build_config) and the dataset has "
                "no 'builder' argument"
            )
        try:
            text = json.dumps(dict(config), indent=2)
        except TypeError as error:
            raise DatasetError(f"model build_config is not JSON-serialisable: {error}") from error
        with atomic_folder(Path(str(self._get_save_path()))) as folder:
            save_model(model, str(folder / WEIGHTS_FILE))
            (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
