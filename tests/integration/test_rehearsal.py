"""The rehearsal of the paper-size configuration (``benchmarks/rehearsal.py``): ``kedro run
--env rakuten`` on the CPU, with stand-in weights saved where a user puts the real ones, writes
every output, and its models have the paper's shapes and were built from those files.

One run of a few minutes shared by the module (``-m rehearsal`` selects it, ``-m "not
rehearsal"`` skips it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from safetensors import safe_open

from rakuten_kedro.grid import load_grid
from tests.kedro_project import PROJECT

pytestmark = [pytest.mark.integration, pytest.mark.rehearsal]

SCRIPT = PROJECT / "benchmarks" / "rehearsal.py"
GRID = load_grid("rakuten", PROJECT / "conf")
NUM_CODES = 27
#: ResNet152's convolutions: the stem, 3 in each of its 50 bottleneck blocks, 4 downsamples.
RESNET152_CONVOLUTIONS = 1 + 3 * 50 + 4


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> Iterator[dict]:
    """The result file of one rehearsal (``benchmarks/results/rehearsal.json``'s format); its
    work folder (stand-in weights, data, the project: gigabytes) is removed afterwards."""
    folder = tmp_path_factory.mktemp("rehearsal")
    out = folder / "rehearsal.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--work", str(folder / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-4000:])
    yield json.loads(out.read_text(encoding="utf-8"))
    shutil.rmtree(folder / "work")


@pytest.fixture(scope="module")
def project(rehearsal) -> Path:
    return Path(rehearsal["project"])


def tensor_shapes(file: Path) -> dict[str, list[int]]:
    with safe_open(str(file), framework="pt") as tensors:
        return {name: list(tensors.get_slice(name).get_shape()) for name in tensors.keys()}


def test_every_output_the_catalog_keeps_in_a_file_was_written(rehearsal):
    outputs = rehearsal["outputs"]
    in_files = {name for name, output in outputs.items() if not output["in_memory"]}

    assert rehearsal["missing_outputs"] == []
    assert all(outputs[name]["exists"] for name in in_files)
    for member in GRID.members:
        assert {f"{member.name}.fusion_model", f"{member.name}.test_predictions"} <= in_files
    for variant in GRID.image:
        assert {f"{variant.name}.image_model", f"{variant.name}.val_probs"} <= in_files
    assert {"text_transformer.text_model", "text_tfidf.tfidf_model", "label_issues"} <= in_files
    assert {"submission", "results", "model_card"} <= in_files


def test_every_grid_namespace_has_outputs(rehearsal):
    namespaces = {name.split(".", 1)[0] for name in rehearsal["outputs"] if "." in name}

    declared = set().union(*GRID.namespaces().values())
    assert len(GRID.members) == 12
    assert declared <= namespaces


def test_the_text_model_is_camembert_base_with_the_local_tokenizer_and_pooler_head(
    rehearsal, project
):
    model = project / "data/06_models/text_transformer/text_model"
    config = json.loads((model / "config.json").read_text())
    head = json.loads((model / "text_classifier.json").read_text())
    stand_in = Path(rehearsal["stand_in_encoder"]["folder"])

    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == (
        "camembert", 768, 12
    )  # fmt: skip
    assert config["vocab_size"] == 32005
    assert (head["pooling"], head["max_length"]) == ("pooler", 128)
    assert tensor_shapes(model / "model.safetensors")["pooler.dense.weight"] == [768, 768]
    saved_vocab = json.loads((model / "tokenizer.json").read_text())["model"]["vocab"]
    assert saved_vocab == json.loads((stand_in / "tokenizer.json").read_text())["model"]["vocab"]


@pytest.mark.parametrize("variant", GRID.used_image(), ids=lambda variant: variant.name)
def test_image_models_are_resnet152_from_the_stand_in_imagenet_file(rehearsal, project, variant):
    model = project / f"data/06_models/{variant.name}/image_model"
    shapes = tensor_shapes(model / "model.safetensors")
    metrics = json.loads((project / f"data/08_reporting/{variant.name}/metrics.json").read_text())
    resnet152 = next(path for path in rehearsal["stand_in_resnets"] if "resnet152" in path)

    convolutions = [name for name, shape in shapes.items() if name.startswith("trunk.")
                    and len(shape) == 4]  # fmt: skip
    assert len(convolutions) == RESNET152_CONVOLUTIONS
    assert shapes["classifier.weight"] == [NUM_CODES, 2048]
    dcl_grid = json.loads((model / "config.json").read_text())["kwargs"]["dcl_grid"]
    assert (dcl_grid is not None) == variant.dcl
    assert metrics["training"]["stage1"]["initial_weights"] == resnet152


def test_broken_photos_became_placeholders_and_are_reported(rehearsal, project):
    issues = pd.read_csv(project / "data/08_reporting/image_issues.csv")

    assert {Path(path).name for path in issues["image_path"]} == set(rehearsal["data"]["broken"])
    assert sorted(issues["subset"]) == ["labelled", "test"]
    assert set(issues["action"]) == {"blank placeholder"}


def test_every_code_has_validation_rows_for_the_fusion(project):
    validation = pd.read_parquet(project / "data/03_primary/validation_products.parquet")

    assert validation["prdtypecode"].nunique() == NUM_CODES


def test_wall_time_and_peak_memory_are_recorded(rehearsal):
    run = rehearsal["run"]

    assert run["exit_code"] == 0
    assert 0 < run["seconds"] < rehearsal["wall_seconds"]
    # camembert-base's weights, gradients and AdamW moments alone are ~1.7 GB
    assert run["peak_rss_mb"] > 1700
