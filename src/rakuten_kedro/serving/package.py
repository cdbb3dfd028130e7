"""Package a finished training run as one MLflow model (``serving.model.MethodModel``).

The model folder holds plain files only: ``method.json`` (the grid, the label encoding and the
parameters the predict pipeline reads), a copy of every trained model folder (safetensors and
JSON, as the catalog saved them), the code of this package, the model code file that names
``MethodModel``, the signature, an input example and pinned requirements. Nothing in it is a
pickle: MLflow 3 refuses to load pickled pyfunc models by default, and this project's trust
model (``docs/reliability.md``) never loads one.
"""

from __future__ import annotations

import base64
import importlib.metadata
import io
import json
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema
from packaging.requirements import Requirement
from PIL import Image

from rakuten_kedro.config import plain_value
from rakuten_kedro.grid import parse_grid
from rakuten_kedro.pipeline_registry import build_pipelines
from rakuten_kedro.serving.model import (
    METHOD_ARTIFACT,
    METHOD_FORMAT,
    PACKAGED_DATASETS,
    REQUEST_INPUT,
    MethodModel,
)
from rakuten_kedro.serving.requests import REQUEST_COLUMNS

MODEL_CODE = Path(__file__).with_name("model_code.py")
PACKAGE = "rakuten_kedro"
#: Declared dependencies of the project that answering a request does not import (MLflow adds
#: its own pin).
NOT_FOR_SERVING = frozenset({"kedro-viz", "kedro-mlflow", "mlflow", "jupyterlab", "ipykernel"})


def predict_pipeline_inputs(parameters: dict[str, Any], environment: str) -> set[str]:
    """The datasets the predict pipeline of ``parameters``' grid reads besides the products."""
    grid = parse_grid(parameters, "the run's parameters", environment)
    return set(build_pipelines(grid)["predict"].inputs()) - {REQUEST_INPUT}


def _packaged_kind(dataset: Any) -> str | None:
    return next((kind for kind, cls in PACKAGED_DATASETS.items() if type(dataset) is cls), None)


def packaged_models(catalog: Any, parameters: dict[str, Any], environment: str) -> list[str]:
    """The trained models the method answers with (the predict pipeline's model inputs)."""
    inputs = sorted(predict_pipeline_inputs(parameters, environment))
    return [name for name in inputs if _packaged_kind(catalog.get(name)) is not None]


def stage_method(
    catalog: Any, parameters: dict[str, Any], environment: str, folder: Path
) -> dict[str, str]:
    """Writes ``method.json`` and a copy of every trained model into ``folder``.

    Args:
        catalog: The run's catalog (the trained models, ``label_encoding``, parameters).
        parameters: The run's parameters (``grid`` and ``fusion.networks`` are kept).
        environment: The Kedro environment (names the grid in messages).
        folder: An empty folder.

    Returns:
        MLflow artifacts: name -> path (``method`` and one per model).
    """
    method: dict[str, Any] = {
        "format": METHOD_FORMAT,
        "environment": environment,
        "parameters": {
            "grid": plain_value(parameters["grid"]),
            "fusion": {"networks": plain_value(parameters["fusion"]["networks"])},
        },
        "values": {},
        "models": {},
    }
    artifacts = {}
    for name in sorted(predict_pipeline_inputs(parameters, environment)):
        dataset = catalog.get(name)
        kind = _packaged_kind(dataset)
        if kind is None:  # the label encoding and the parameters: plain values
            method["values"][name] = plain_value(catalog.load(name))
            continue
        target = folder / name
        shutil.copytree(Path(str(dataset._get_load_path())), target)
        artifacts[name] = str(target)
        args = {k: v for k, v in dataset._describe().items() if k not in ("filepath", "version")}
        method["models"][name] = {"dataset": kind, "args": args}
    method_file = folder / "method.json"
    method_file.write_text(json.dumps(method, indent=2, sort_keys=True), encoding="utf-8")
    return {METHOD_ARTIFACT: str(method_file), **artifacts}


def stage_code(folder: Path) -> str:
    """A copy of this package's source (no byte code) for the model's ``code`` folder."""
    source = Path(__file__).resolve().parents[1]
    target = folder / PACKAGE
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return str(target)


def pinned_requirements() -> list[str]:
    """The project's declared dependencies, pinned to the installed versions."""
    pins = []
    for line in importlib.metadata.requires(PACKAGE) or []:
        requirement = Requirement(line)
        if requirement.marker is not None or requirement.name in NOT_FOR_SERVING:
            continue  # extras (tests) and what serving never imports
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        version = importlib.metadata.version(requirement.name)
        pins.append(f"{requirement.name}{extras}=={version}")
    return pins


def request_schema() -> Schema:
    """The request's columns, of which only ``title`` is required."""
    return Schema(
        [ColSpec(kind, name, required=name == "title") for name, kind in REQUEST_COLUMNS.items()]
    )


def input_example() -> pd.DataFrame:
    """Two made-up products: one with a photo (base64), one with none (answered from text)."""
    photo = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(photo, format="JPEG")
    return pd.DataFrame(
        {
            "title": ["Poussette canne pliable", "Roman policier en poche"],
            "description": ["Légère, 6 kg, avec habillage pluie", ""],
            "image": [base64.b64encode(photo.getvalue()).decode("ascii"), None],
        }
    )


def answer_schema(artifacts: dict[str, str], example: pd.DataFrame) -> Schema:
    """The answer's columns, from answering ``example`` with the staged model (which also
    proves, before anything is logged, that the model loads and answers)."""
    model = MethodModel()
    model.load_context(SimpleNamespace(artifacts=artifacts, model_config=None))
    return infer_signature(example, model.predict(None, example)).outputs


def log_method_model(
    catalog: Any,
    parameters: dict[str, Any],
    environment: str,
    registered_model: str | None = None,
) -> Any:
    """Logs the method as one MLflow model in the active run (and registers it if named).

    Args:
        catalog: The run's catalog.
        parameters: The run's parameters.
        environment: The Kedro environment.
        registered_model: Name in the MLflow model registry (``None``: not registered).

    Returns:
        MLflow's ``ModelInfo`` (``model_uri``, ``registered_model_version``, …).
    """
    example = input_example()
    with tempfile.TemporaryDirectory(prefix="rakuten-model-") as scratch:
        folder = Path(scratch)
        (folder / "method").mkdir()
        artifacts = stage_method(catalog, parameters, environment, folder / "method")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts=artifacts,
            code_paths=[stage_code(folder)],
            signature=ModelSignature(request_schema(), answer_schema(artifacts, example)),
            input_example=example,
            pip_requirements=pinned_requirements(),
            registered_model_name=registered_model,
        )
