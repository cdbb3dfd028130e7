"""``TfidfModelDataset``: the TF-IDF baseline saved as JSON and arrays, never as a pickle.

A saved model is a folder with ``tfidf.json`` (the settings and both vocabularies, in feature
order) and ``arrays.safetensors`` (the idf weights and the linear classifier's coefficients).
Loading rebuilds the scikit-learn pipeline through the same builder that trained it
(``rakuten_kedro.text.tfidf``): a pickle would run whatever code a crafted file names.

Example catalog entry::

    text_tfidf.tfidf_model:
      type: rakuten_kedro.datasets.tfidf_model.TfidfModelDataset
      filepath: data/06_models/text_tfidf/tfidf_model
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version
from safetensors import SafetensorError
from sklearn.pipeline import Pipeline

from rakuten_kedro.atomic import atomic_folder
from rakuten_kedro.text.tfidf import ARRAYS_FILE, CONFIG_FILE, load_tfidf, save_tfidf


def _load(folder: Path) -> Pipeline:
    try:
        return load_tfidf(folder)
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as error:
        raise DatasetError(f"{folder} is not a readable TF-IDF model: {error}") from error


class TfidfModelDataset(AbstractVersionedDataset[Pipeline, Pipeline]):
    """Save / load the fitted TF-IDF pipeline as JSON + safetensors arrays.

    Args:
        filepath: The model folder (local path).
        version: Kedro version (set by ``versioned: true`` in the catalog).
        metadata: Kedro metadata (e.g. kedro-viz layer); not used by the dataset.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def _exists(self) -> bool:
        try:
            folder = Path(str(self._get_load_path()))
        except DatasetError:
            return False
        return (folder / CONFIG_FILE).is_file() and (folder / ARRAYS_FILE).is_file()

    def load(self) -> Pipeline:
        if not self._exists():
            raise DatasetError(
                f"no saved TF-IDF model in {self._filepath}: run the text_model pipeline first"
            )
        return _load(Path(str(self._get_load_path())))

    def save(self, data: Pipeline) -> None:
        if not hasattr(data, "build_params"):
            raise DatasetError(
                "TfidfModelDataset saves a pipeline from rakuten_kedro.text.tfidf "
                f"(train_tfidf_classifier), got {type(data).__name__}"
            )
        with atomic_folder(Path(str(self._get_save_path()))) as folder:
            save_tfidf(data, folder)
