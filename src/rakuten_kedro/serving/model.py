"""``MethodModel``: the MLflow pyfunc model that answers with the ``predict`` pipeline itself.

Loading builds the predict pipeline from the grid the model was trained with, loads every
trained model once (through this project's own datasets, chosen from a fixed list: nothing in
the model folder names code to import) and runs once the nodes that do not depend on a request
(the digest of the models). Each request is written as a folder of products and run through
the rest of that pipeline with Kedro's ``SequentialRunner``: the same reading, cleaning, photo
decoding, text and image models, fusion networks, vote and text-only fallback as
``kedro run --pipelines predict``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from rakuten_kedro.datasets.hf_model import HFModelDataset
from rakuten_kedro.datasets.image_cache import ImageCacheDataset
from rakuten_kedro.datasets.new_products import NewProductsDataset
from rakuten_kedro.datasets.tfidf_model import TfidfModelDataset
from rakuten_kedro.datasets.torch_model import TorchModelDataset
from rakuten_kedro.grid import parse_grid
from rakuten_kedro.pipeline_registry import build_pipelines
from rakuten_kedro.serving.requests import RequestError, write_request_folder

#: The dataset classes a packaged model may hold, by the key its ``method.json`` names them
#: with: a model folder can never make the server import anything else.
PACKAGED_DATASETS: dict[str, type] = {
    "hf_model": HFModelDataset,
    "tfidf_model": TfidfModelDataset,
    "torch_model": TorchModelDataset,
}
#: Version of ``method.json``'s layout.
METHOD_FORMAT = 1
#: The artifact holding ``method.json``.
METHOD_ARTIFACT = "method"
#: The predict pipeline's input that a request replaces, and the datasets built per request.
REQUEST_INPUT = "new_raw_products"
_REQUEST_PHOTOS = "new_image_cache"
_PREDICT_PARAMS = "params:predict"  # its input_dir names the request's folder in the answer
_ANSWER = "predictions"
#: Columns of the predict pipeline's table that mean nothing for a request (its scratch folder
#: and its position); the rest is the answer.
_NOT_ANSWERED = ("row_id", "input_dir")


class MethodModel(PythonModel):
    """The trained method behind MLflow's pyfunc interface (see the module docstring)."""

    def load_context(self, context: Any) -> None:
        """Builds the predict pipeline and loads every trained model from the artifacts."""
        method = json.loads(Path(context.artifacts[METHOD_ARTIFACT]).read_text(encoding="utf-8"))
        if method.get("format") != METHOD_FORMAT:
            raise MlflowException(
                f"method.json format {method.get('format')!r}: this rakuten_kedro reads "
                f"format {METHOD_FORMAT}; serve the model with the version that logged it"
            )
        grid = parse_grid(method["parameters"], "the model's method.json", method["environment"])
        pipeline = build_pipelines(grid)["predict"]
        values = dict(method["values"])
        for name, entry in method["models"].items():
            kind = entry["dataset"]
            if kind not in PACKAGED_DATASETS:
                raise MlflowException(
                    f"method.json: {name} is a {kind!r} dataset, not one of "
                    f"{sorted(PACKAGED_DATASETS)}"
                )
            values[name] = PACKAGED_DATASETS[kind](
                filepath=context.artifacts[name], **entry["args"]
            ).load()
        self._pipeline = pipeline.from_inputs(REQUEST_INPUT)
        once = pipeline - self._pipeline
        self._values = {**values, **_run(once, _memory(values), set(once.outputs()))}
        missing = self._pipeline.inputs() - {REQUEST_INPUT} - set(self._values)
        if missing:
            raise MlflowException(f"the model folder lacks {sorted(missing)}")
        self._lock = threading.Lock()  # the scoring server calls predict from several threads

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        """The answer for every product of ``model_input``, in its order.

        Returns:
            Per product ``productid``, ``imageid``, ``prdtypecode``, ``category``,
            ``probability``, the runners-up (``top2_…``, ``top3_…``), ``low_confidence``,
            ``answered_from`` (``ensemble``, or ``text_only`` when the photo is missing or
            unreadable) and ``models`` (the digest of the trained models).

        Raises:
            MlflowException: INVALID_PARAMETER_VALUE (HTTP 400) for a request it cannot read,
                naming the record.
        """
        with tempfile.TemporaryDirectory(prefix="rakuten-request-") as scratch:
            folder = Path(scratch)
            try:
                write_request_folder(model_input, folder)
                predict_params = {**self._values[_PREDICT_PARAMS], "input_dir": str(folder)}
                catalog = _memory({**self._values, _PREDICT_PARAMS: predict_params})
                catalog[REQUEST_INPUT] = NewProductsDataset(input_dir=str(folder))
                catalog[_REQUEST_PHOTOS] = ImageCacheDataset(path=str(folder / "photo_cache"))
                with self._lock:
                    answer = _run(self._pipeline, catalog, {_ANSWER})[_ANSWER]
            except (RequestError, DatasetError) as error:
                message = str(error).replace(str(folder), "<request>")
                raise MlflowException(message, error_code=INVALID_PARAMETER_VALUE) from error
        return answer.sort_values("row_id").drop(columns=list(_NOT_ANSWERED)).reset_index(drop=True)


def _memory(values: dict[str, Any]) -> DataCatalog:
    """Values as datasets handed over as they are (models are never copied)."""
    return DataCatalog(
        {name: MemoryDataset(data=value, copy_mode="assign") for name, value in values.items()}
    )


def _run(pipeline: Pipeline, catalog: DataCatalog, outputs: set[str]) -> dict[str, Any]:
    """Runs ``pipeline`` without hooks; returns the ``outputs`` it made. Kedro's per-node log
    lines are held back (warnings still show): a request is not a project run."""
    for name in outputs:
        if name not in catalog:
            catalog[name] = MemoryDataset(copy_mode="assign")
    kedro_logger = logging.getLogger("kedro")
    level = kedro_logger.level
    kedro_logger.setLevel(max(level, logging.WARNING))
    try:
        SequentialRunner().run(pipeline, catalog)
    finally:
        kedro_logger.setLevel(level)
    return {name: catalog.load(name) for name in outputs}
