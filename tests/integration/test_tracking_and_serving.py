"""Tracking, the packaged model and its served API, tried as a user would, on the tiny demo.

The shared demo run (``conftest.demo_run``) is the first tracked `kedro run`; a second one with
another text seed follows. Then: two MLflow runs with parameters, curves, metrics, artifacts
and a registered model each (signature, input example, pinned requirements, no pickle); a run
with tracking switched off writes nothing; the logged model answers exactly as
`kedro run --pipelines predict` on the same products; `make serve` answers real HTTP requests
(base64 photos, paths, no photo, malformed records, the README's curl example) and its latency
is measured; the MLflow UI shows both runs in Chromium (screenshots in the project's
``data/08_reporting/screenshots/``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, missing_browser
from tests.kedro_project import (
    PROJECT,
    TINY_DEMO,
    kedro,
    kedro_environment,
    makefile_default,
)

pytestmark = pytest.mark.integration

mlflow = pytest.importorskip("mlflow")

SECOND_SEED = 7
BIN = Path(sys.executable).parent
MODEL = "models:/rakuten_kedro/latest"
SERVING_RESULTS = PROJECT / "benchmarks" / "results" / "serving.json"
README_SCREENSHOT = PROJECT / "docs" / "images" / "mlflow_runs.png"
#: Requests per batch size in the latency measurement (a shared 2-core CPU: kept short).
LATENCY_REPEATS = {1: 10, 32: 5, 100: 3}


def store(project: Path) -> str:
    return f"sqlite:///{project / 'mlruns.db'}"


@pytest.fixture(scope="module")
def two_runs(demo_run: Path) -> Path:
    """The demo project after a second whole run with another text seed."""
    params = f"{TINY_DEMO},text_transformer.training.seed={SECOND_SEED}"
    result = kedro(demo_run, "run", "--params", params)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    mlflow.set_tracking_uri(store(demo_run))
    return demo_run


@pytest.fixture(scope="module")
def client(two_runs: Path):
    return mlflow.MlflowClient(store(two_runs))


@pytest.fixture(scope="module")
def method_runs(client) -> list:
    """The two whole-method runs, oldest first."""
    experiment = client.get_experiment_by_name("rakuten_kedro")
    runs = client.search_runs(
        [experiment.experiment_id],
        "tags.kedro_pipeline = '__default__'",
        order_by=["attributes.start_time ASC"],
    )
    return list(runs)


def test_two_runs_are_recorded_with_their_parameters_and_tags(method_runs):
    assert [run.info.status for run in method_runs] == ["FINISHED", "FINISHED"]
    seeds = [run.data.params["text_transformer.training.seed"] for run in method_runs]
    assert seeds == ["2020", str(SECOND_SEED)]
    first, second = (run.data for run in method_runs)
    assert len(first.params) > 100  # every parameter the nodes read, flattened
    assert (
        first.params["image_plain_clean.stage1.epochs"]
        == second.params["image_plain_clean.stage1.epochs"]
    )
    for data in (first, second):
        assert data.tags["kedro_env"] == "local"
        assert data.tags["git_commit"]
        assert len(data.tags["data_fingerprint"]) == 32
    assert first.tags["data_fingerprint"] == second.tags["data_fingerprint"]  # same data


def test_each_run_has_per_epoch_curves_of_every_training(client, method_runs):
    curves = []
    for run in method_runs:
        history = client.get_metric_history(run.info.run_id, "text_transformer/val_macro_f1")
        steps = [metric.step for metric in history]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 2
        curves.append([metric.value for metric in history])
        assert {"image_plain_clean_stage_1/train_loss", "image_plain_clean_stage_1/lr",
                "text_transformer/samples_per_s"} <= set(run.data.metrics)  # fmt: skip
    assert curves[0] != curves[1]  # another seed, another curve
    # the image models were reused by the second run: their curves are the same
    image = [
        [m.value for m in client.get_metric_history(r.info.run_id, "image_plain_clean_stage_1/lr")]
        for r in method_runs
    ]
    assert image[0] == image[1] and len(image[0]) >= 2


def test_final_metrics_and_artifacts_are_those_of_the_run(client, method_runs, two_runs):
    results = json.loads((two_runs / "data/08_reporting/results.json").read_text())
    latest = method_runs[-1]
    assert latest.data.metrics["ensemble/macro_f1"] == pytest.approx(
        results["ensemble"]["macro_f1"]
    )
    artifacts = {
        item.path
        for folder in ("data/08_reporting", "data/03_primary")
        for item in client.list_artifacts(latest.info.run_id, folder)
    }
    assert {"data/08_reporting/results.json", "data/08_reporting/headline_choice.json",
            "data/08_reporting/model_card.md",
            "data/08_reporting/confusion_matrix.png", "data/08_reporting/results_table.md"
            } <= artifacts  # fmt: skip
    assert "data/03_primary/label_issues.csv" in artifacts  # the default denoises
    card = Path(client.download_artifacts(latest.info.run_id, "data/08_reporting/model_card.md"))
    text = card.read_text(encoding="utf-8")  # its sections: tests/reporting/test_model_card.py
    assert text == (two_runs / "data/08_reporting/model_card.md").read_text(encoding="utf-8")
    assert "Worst 5 classes" in text and "## Known limits" in text


def test_each_run_logs_and_registers_the_method_as_one_model(client, method_runs):
    versions = client.search_model_versions("name = 'rakuten_kedro'")
    assert sorted(version.run_id for version in versions) == sorted(
        run.info.run_id for run in method_runs
    )


def test_the_model_has_a_signature_an_example_pinned_requirements_and_no_pickle(two_runs):
    info = mlflow.models.get_model_info(MODEL)
    inputs = {column.name: column.required for column in info.signature.inputs}
    assert inputs == {"title": True, "description": False, "image": False,
                      "image_path": False, "productid": False, "imageid": False}  # fmt: skip
    assert {"prdtypecode", "category", "probability", "top3_prdtypecode", "answered_from"} <= set(
        info.signature.outputs.input_names()
    )
    folder = Path(mlflow.artifacts.download_artifacts(MODEL))
    example = mlflow.models.Model.load(folder).load_input_example(folder)
    assert example["title"].tolist() == ["Poussette canne pliable", "Roman policier en poche"]
    requirements = (folder / "requirements.txt").read_text().split()
    assert f"torch=={version('torch')}" in requirements
    assert all("==" in line for line in requirements), requirements
    assert not [p for p in folder.rglob("*") if p.suffix in {".pkl", ".pickle", ".pt", ".pth"}]


def test_tracking_switched_off_writes_nothing(two_runs, client):
    before = sorted(str(p.relative_to(two_runs)) for p in two_runs.rglob("mlruns*"))
    store_bytes = (two_runs / "mlruns.db").read_bytes()
    runs_before = len(client.search_runs([client.get_experiment_by_name("rakuten_kedro")
                                          .experiment_id]))  # fmt: skip
    result = kedro(two_runs, "run", "--pipelines", "reporting", "--params",
                   f"{TINY_DEMO},tracking.enabled=false")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = sorted(str(p.relative_to(two_runs)) for p in two_runs.rglob("mlruns*"))
    assert after == before
    assert (two_runs / "mlruns.db").read_bytes() == store_bytes
    assert not list(two_runs.rglob("mlruns/*/*/meta.yaml"))  # no file-store run either
    runs_after = len(client.search_runs([client.get_experiment_by_name("rakuten_kedro")
                                         .experiment_id]))  # fmt: skip
    assert runs_after == runs_before


# ---------------------------------------------------------------------------------------------
# The model: same answers as the predict pipeline; served over HTTP


@pytest.fixture(scope="module")
def new_products(two_runs: Path, tmp_path_factory) -> Path:
    """A folder of 12 demo test products as one CSV with photo paths, the last without one."""
    raw = two_runs / "data/01_raw/demo"
    table = pd.read_csv(raw / "X_test_update.csv", index_col=0).head(12)
    folder = tmp_path_factory.mktemp("new_products")
    paths = [
        str(raw / "images/image_test" / f"image_{i}_product_{p}.jpg")
        for i, p in zip(table["imageid"], table["productid"], strict=True)
    ]
    paths[-1] = str(folder / "no_such_photo.jpg")
    products = pd.DataFrame({
        "title": table["designation"].to_numpy(), "description": table["description"].to_numpy(),
        "productid": table["productid"].to_numpy(), "imageid": table["imageid"].to_numpy(),
        "image_path": paths,
    })  # fmt: skip
    products.to_csv(folder / "products.csv", index=False)
    return folder


def request_table(products: pd.DataFrame) -> pd.DataFrame:
    """The products as a request: even rows send the photo as base64, odd rows as a path."""
    request = products.copy()
    images = []
    for position, path in enumerate(products["image_path"]):
        if position % 2 == 0 and Path(path).is_file():
            images.append(base64.b64encode(Path(path).read_bytes()).decode("ascii"))
        else:
            images.append(None)
    request["image"] = images
    request.loc[request["image"].notna(), "image_path"] = None
    return request


ANSWER_COLUMNS = ["prdtypecode", "top2_prdtypecode", "top3_prdtypecode", "answered_from",
                  "low_confidence", "models"]  # fmt: skip
PROBABILITIES = ["probability", "top2_probability", "top3_probability"]


def test_the_model_answers_as_the_predict_pipeline(two_runs, new_products):
    result = kedro(two_runs, "run", "--pipelines", "predict", "--params",
                   f"predict.input_dir={new_products}")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    batch = pd.read_csv(two_runs / "data/07_model_output/predictions.csv")
    products = pd.read_csv(new_products / "products.csv")
    answers = mlflow.pyfunc.load_model(MODEL).predict(request_table(products))
    assert len(answers) == len(batch) == 12
    assert answers["answered_from"].tolist() == ["ensemble"] * 11 + ["text_only"]
    for column in ANSWER_COLUMNS:
        assert answers[column].tolist() == batch[column].tolist(), column
    np.testing.assert_allclose(answers[PROBABILITIES], batch[PROBABILITIES], atol=1e-6)
    assert answers["productid"].tolist() == products["productid"].tolist()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(command: list[str], project: Path, health: str) -> Iterator[str]:
    """Starts ``command`` (with ``{port}``) in ``project`` on a free loopback port, waits for
    ``health`` to answer 200, yields the base URL and stops the server."""
    port = free_port()
    env = kedro_environment(
        MLFLOW_TRACKING_URI=store(project), MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",  # the UI's GenAI job workers: 7 processes
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )  # fmt: skip
    log = project / f"server-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [part.format(port=port) for part in command], cwd=project, env=env,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no answer: " + log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(url + health, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, 15)  # the server and its workers, nothing else
        process.wait(timeout=60)


def post(url: str, records: list[dict]) -> tuple[int, dict]:
    body = json.dumps({"dataframe_records": records}).encode()
    request = urllib.request.Request(
        url + "/invocations", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def records(request: pd.DataFrame) -> list[dict]:
    """The request as JSON records, leaving out the fields a product does not have."""
    return [
        {key: value for key, value in row.items() if not pd.isna(value)}
        for row in request.to_dict("records")
    ]


@pytest.fixture(scope="module")
def served(two_runs) -> Iterator[str]:
    """`make serve` in the demo project, on a free port: the project's Makefile, with a
    ``.venv`` that is the test's own (its install step already done)."""
    shutil.copy(PROJECT / "Makefile", two_runs / "Makefile")
    venv = two_runs / ".venv"
    venv.mkdir(exist_ok=True)
    if not (venv / "bin").exists():
        (venv / "bin").symlink_to(BIN, target_is_directory=True)
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    with server(["make", "serve", "SERVE_PORT={port}"], two_runs, "/ping") as url:
        yield url


def test_the_served_model_answers_real_requests(served, new_products):
    products = pd.read_csv(new_products / "products.csv")
    request = request_table(products)
    not_a_photo = base64.b64encode(b"not a photo").decode("ascii")
    # every record has ids, or none: MLflow's schema cannot hold a missing integer in a batch
    unreadable = {"title": "Poussette", "image": not_a_photo, "productid": 1, "imageid": 1}
    status, answer = post(served, [*records(request), unreadable])
    assert status == 200, answer
    served_answers = pd.DataFrame(answer["predictions"])
    local = mlflow.pyfunc.load_model(MODEL).predict(request)
    assert served_answers["prdtypecode"].tolist()[:-1] == local["prdtypecode"].tolist()
    answered_from = served_answers["answered_from"].tolist()
    assert answered_from == ["ensemble"] * 11 + ["text_only"] * 2  # no photo; not a photo
    assert (served_answers["probability"] >= served_answers["top2_probability"]).all()
    assert set(served_answers["category"]) <= set(local["category"]) | set(
        local["top2_category"]
    ) | set(local["top3_category"])


def readme_curl_example() -> str:
    """The README's curl command (the bash block that posts to /invocations)."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```bash\n")[1:]
    return next(block.split("```")[0] for block in blocks if "/invocations" in block)


def test_the_readme_curl_example_gets_top_3_codes(served, two_runs):
    documented = f"http://127.0.0.1:{makefile_default('SERVE_PORT')}/invocations"
    example = readme_curl_example()
    assert documented in example  # the port `make serve` listens on
    command = example.replace(documented, f"{served}/invocations")
    result = subprocess.run(["bash", "-c", command], cwd=two_runs, capture_output=True,
                            text=True, timeout=300, check=True)  # fmt: skip
    answers = json.loads(result.stdout)["predictions"]
    assert [answer["answered_from"] for answer in answers] == ["ensemble", "ensemble", "text_only"]
    for answer in answers:
        codes = [answer[key] for key in ("prdtypecode", "top2_prdtypecode", "top3_prdtypecode")]
        assert len(set(codes)) == 3 and answer["category"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"description": "no title"}, "record 1: title must be a non-empty string"),
        ({"title": "x", "image": "%%% not base64"}, "record 1: image is not valid base64"),
        ({"title": "x", "image": "AAAA", "image_path": "/tmp/a.jpg"}, "record 1: give the photo"),
    ],
)
def test_a_malformed_record_gets_a_400_naming_it(served, record, message):
    status, answer = post(served, [{"title": "Poussette canne"}, record])
    assert status == 400
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in answer["message"]


def test_serving_latency_is_measured(served, new_products, capsys):
    # without ids: a batch repeats products, and a request may not list one product twice
    products = request_table(pd.read_csv(new_products / "products.csv")).drop(
        columns=["productid", "imageid"]
    )
    figures = {}
    for size, repeats in LATENCY_REPEATS.items():
        batch = records(pd.concat([products] * (size // len(products) + 1)).head(size))
        post(served, batch)  # warm-up
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            status, answer = post(served, batch)
            seconds.append(time.perf_counter() - started)
            assert status == 200 and len(answer["predictions"]) == size
        figures[size] = {
            "requests": repeats,
            "p50_s": round(float(np.percentile(seconds, 50)), 3),
            "p95_s": round(float(np.percentile(seconds, 95)), 3),
            "products_per_s": round(size / float(np.median(seconds)), 1),
        }
    result = {
        "benchmark": "serving",
        "what": "POST /invocations of `make serve` (mlflow models serve --env-manager local, "
        "1 worker), demo model, products with photos as base64 and paths; wall time per request",
        "measured_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpu_cores": os.cpu_count(), "load_average": os.getloadavg()},
        "batches": {str(size): figure for size, figure in figures.items()},
    }
    target = SERVING_RESULTS if os.environ.get("RAKUTEN_UPDATE_BENCHMARKS") == "1" else None
    if target is not None:
        target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    with capsys.disabled():
        print("\nserving latency (batch size: p50 / p95 seconds, products/s):")
        for size, figure in figures.items():
            print(f"  {size:>3}: {figure['p50_s']:.3f} / {figure['p95_s']:.3f} s, "
                  f"{figure['products_per_s']:.1f} products/s")  # fmt: skip
    assert all(figure["p50_s"] > 0 for figure in figures.values())


# ---------------------------------------------------------------------------------------------
# The MLflow UI in a browser


def test_the_mlflow_ui_shows_both_runs_and_their_metrics(two_runs, method_runs):
    if reason := missing_browser():
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional: after the skip)

    screenshots = two_runs / SCREENSHOTS
    screenshots.mkdir(exist_ok=True)
    ids = [run.info.run_id for run in method_runs]
    experiment = method_runs[0].info.experiment_id
    latest = method_runs[-1]
    command = [str(BIN / "mlflow"), "ui", "--backend-store-uri", store(two_runs), "--host",
               "127.0.0.1", "--port", "{port}", "--workers", "1"]  # fmt: skip
    with server(command, two_runs, "/health") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{url}/#/experiments/{experiment}/runs/{latest.info.run_id}")
        page.get_by_placeholder("Search metrics").fill("ensemble/")
        page.get_by_text("ensemble/macro_f1").first.wait_for(timeout=60_000)
        run_page = page.inner_text("body")
        page.screenshot(path=str(screenshots / "mlflow_run.png"))
        page.goto(f'{url}/#/compare-runs?runs={json.dumps(ids)}&experiments=["{experiment}"]')
        page.get_by_text("Comparing 2 Runs").wait_for(timeout=60_000)
        page.get_by_role("button", name="Close").first.click()  # the assistant panel
        page.wait_for_timeout(2000)  # the plot settles
        compare_page = page.inner_text("body")
        page.screenshot(path=str(screenshots / "mlflow_runs.png"))
        browser.close()
    assert str(latest.data.metrics["ensemble/macro_f1"]) in run_page
    assert all(run_id in compare_page for run_id in ids)
    assert "text_transformer.training.seed" in compare_page  # the parameter the runs differ in
    for name in ("mlflow_run.png", "mlflow_runs.png"):
        assert (screenshots / name).read_bytes().startswith(b"\x89PNG")
    if os.environ.get("RAKUTEN_UPDATE_SCREENSHOT") == "1":
        shutil.copy(screenshots / "mlflow_runs.png", README_SCREENSHOT)
