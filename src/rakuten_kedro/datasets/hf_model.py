"""``HFModelDataset``: a model saved as a ``save_pretrained`` folder (weights + tokenizer).

kedro-datasets has no dataset that *saves* a transformers model; this one saves any object with
a ``save_pretrained(folder)`` method and loads it back with ``model_class.from_pretrained``.
The default class, :class:`rakuten_kedro.models.text.TextClassifier`, writes the encoder and
tokenizer in transformers' own format (loadable alone with ``AutoModel``/``AutoTokenizer``)
plus its classification head.

The folder is written beside its target and renamed into place, so a crash never leaves a
half-written model that a later run would load. ``versioned: true`` keeps every saved model
under ``filepath/<timestamp>/<name>``.

Example catalog entry::

    text_transformer.text_model:
      type: rakuten_kedro.datasets.hf_model.HFModelDataset
      filepath: data/06_models/text_transformer/text_model
      versioned: true
"""

from __future__ import annotations

import importlib
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from rakuten_kedro.atomic import atomic_folder

DEFAULT_MODEL_CLASS = "rakuten_kedro.models.text.TextClassifier"


def _import_class(path: str) -> type:
    module_name, _, class_name = path.replace(":", ".").rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise DatasetError(f"cannot import model class {path!r}: {error}") from error


class HFModelDataset(AbstractVersionedDataset[Any, Any]):
    """Saves/loads a model folder through ``save_pretrained`` / ``from_pretrained``.

    Args:
        filepath: The model folder (local path).
        model_class: Import path of the class whose ``from_pretrained(folder, **load_args)``
            loads it (default: the project's ``TextClassifier``; any transformers class such
            as ``transformers.AutoModel`` works too).
        load_args: Keyword arguments of ``from_pretrained``.
        save_args: Keyword arguments of ``save_pretrained``.
        version: Kedro version (set by ``versioned: true`` in the catalog).
        metadata: Kedro metadata (e.g. the kedro-viz layer); not used by the dataset.
    """

    def __init__(  # noqa: PLR0917 - Kedro passes catalog entries as keyword arguments
        self,
        filepath: str,
        model_class: str = DEFAULT_MODEL_CLASS,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._model_class = model_class
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "model_class": self._model_class,
            "version": self._version,
        }

    def _exists(self) -> bool:
        try:
            path = Path(str(self._get_load_path()))
        except DatasetError:
            return False
        return path.is_dir() and any(path.iterdir())

    def load(self) -> Any:
        """Loads the model with ``model_class.from_pretrained``."""
        path = Path(str(self._get_load_path()))
        if not path.is_dir():
            raise DatasetError(
                f"no saved model folder at {path}: run the pipeline that trains it first"
            )
        return _import_class(self._model_class).from_pretrained(path, **self._load_args)

    def save(self, data: Any) -> None:
        """Writes ``data.save_pretrained`` into a temporary folder renamed into place."""
        if not hasattr(data, "save_pretrained"):
            raise DatasetError(
                f"HFModelDataset saves objects with a save_pretrained method, got {type(data)}"
            )
        with atomic_folder(Path(str(self._get_save_path()))) as folder:
            data.save_pretrained(folder, **self._save_args)
