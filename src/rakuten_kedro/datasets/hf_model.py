"""``HFModelDataset``: a model saved as a ``save_pretrained`` folder (weights + tokenizer).

kedro-datasets has no dataset that *saves* a transformers model; this one saves any object with
a ``save_pretrained(folder)`` method and loads it back with the ``from_pretrained`` of one of
the project's classes, chosen by a key (:data:`FOLDER_CLASSES`), never by an import path. The
default, :class:`rakuten_kedro.models.text.TextClassifier`, writes the encoder and tokenizer in
transformers' own format (loadable alone with ``AutoModel``/``AutoTokenizer``) plus its
classification head, and loads safetensors weights only, without remote code.

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

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from rakuten_kedro.atomic import atomic_folder
from rakuten_kedro.models.text import TextClassifier

#: Key of the catalog's ``architecture`` argument → the class whose ``from_pretrained`` loads.
FOLDER_CLASSES: dict[str, type] = {"text_classifier": TextClassifier}


class HFModelDataset(AbstractVersionedDataset[Any, Any]):
    """Saves/loads a model folder through ``save_pretrained`` / ``from_pretrained``.

    Args:
        filepath: The model folder (local path).
        architecture: Key of :data:`FOLDER_CLASSES`: the class whose
            ``from_pretrained(folder, **load_args)`` loads it (default ``text_classifier``).
        load_args: Keyword arguments of ``from_pretrained``.
        save_args: Keyword arguments of ``save_pretrained``.
        version: Kedro version (set by ``versioned: true`` in the catalog).
        metadata: Kedro metadata (e.g. the kedro-viz layer); not used by the dataset.
    """

    def __init__(  # noqa: PLR0917 - Kedro passes catalog entries as keyword arguments
        self,
        filepath: str,
        architecture: str = "text_classifier",
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        if architecture not in FOLDER_CLASSES:
            raise DatasetError(
                f"HFModelDataset: unknown architecture {architecture!r}; choose one of "
                f"{sorted(FOLDER_CLASSES)}"
            )
        self._architecture = architecture
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "architecture": self._architecture,
            "version": self._version,
        }

    def _exists(self) -> bool:
        try:
            path = Path(str(self._get_load_path()))
        except DatasetError:
            return False
        return path.is_dir() and any(path.iterdir())

    def load(self) -> Any:
        """Loads the model with its class's ``from_pretrained``."""
        path = Path(str(self._get_load_path()))
        if not path.is_dir():
            raise DatasetError(
                f"no saved model folder at {path}: run the pipeline that trains it first"
            )
        return FOLDER_CLASSES[self._architecture].from_pretrained(path, **self._load_args)

    def save(self, data: Any) -> None:
        """Writes ``data.save_pretrained`` into a temporary folder renamed into place."""
        if not hasattr(data, "save_pretrained"):
            raise DatasetError(
                f"HFModelDataset saves objects with a save_pretrained method, got {type(data)}"
            )
        with atomic_folder(Path(str(self._get_save_path()))) as folder:
            data.save_pretrained(folder, **self._save_args)
