"""A run that lacks something stops before its first node with one message naming all of it.

Tried as a new user would, in scratch copies of the project: one pipeline on a fresh install,
the real-data environment offline without weights or data, a bad input file. Each ends with
its message and exit status 1, no traceback on the console (it goes to ``info.log``, and to
the console with ``kedro run -v``). docs/reliability.md lists these messages.
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures import write_challengedata_folder
from tests.kedro_project import kedro, scratch_project


def error_message(output: str) -> list[str]:
    """The lines from the CLI's ``Error:`` on: the message the user reads."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(starts) == 1, output[-3000:]
    return lines[starts[0] :]


def test_one_pipeline_on_a_fresh_install_names_what_to_run_first(tmp_path: Path):
    project = scratch_project(tmp_path / "project")
    result = kedro(project, "run", "--pipelines", "fusion")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output and "FileNotFoundError" not in output
    message = error_message(output)
    assert len(message) <= 8 and len(output.splitlines()) < 30, output
    run_first = "kedro run --pipelines preprocessing,text_model,denoising,image_model"
    assert message[-1] == f"  Run first: {run_first}"  # the image variant learns denoised rows
    made_by = {line.split(":")[0].strip(): line for line in message[2:-1]}
    assert list(made_by) == ["preprocessing", "text_model", "image_model"]
    assert "products" in made_by["preprocessing"]
    assert "text_tfidf.test_probs" in made_by["text_model"]
    assert "Traceback" in (project / "info.log").read_text()  # the full story, in the log
    assert (project / "data" / ".kedro-run.lock").read_text() == ""  # the lock was given back


def test_the_real_data_environment_offline_lists_every_missing_weight_and_the_data(tmp_path):
    project = scratch_project(tmp_path / "project")
    result = kedro(
        project, "run", "--env", "rakuten",
        TORCH_HOME=str(tmp_path / "torch"), HF_HUB_CACHE=str(tmp_path / "hf"),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    message = "\n".join(error_message(output))
    items = [line for line in message.splitlines() if line.startswith("- ")]
    assert len(items) == 5, message  # denoising, two image variants, the text model, the data
    assert "Cannot load the pretrained text model 'camembert-base'" in message
    assert "hf download camembert-base --local-dir /models/camembert-base" in message
    for parameter, file in (
        ("denoising.model", "resnet50-11ad3fa6.pth"),
        ("image_dcl_clean.model", "resnet152-f82ba261.pth"),
        ("image_plain_noisy.model", "resnet152-f82ba261.pth"),
    ):
        assert f'--params "{parameter}.weights_path=/models/{file}"' in message
    assert f"{tmp_path / 'torch'}/hub/checkpoints/" in message
    assert "data.raw_dir data/01_raw/rakuten does not exist" in message
    assert not (project / "data" / "01_raw" / "rakuten").exists()


def test_a_bad_input_file_ends_with_its_message_and_no_traceback(tmp_path: Path):
    project = scratch_project(tmp_path / "project")
    raw = write_challengedata_folder(tmp_path / "raw", n_per_code=2, n_test=5)
    x_train = raw / "X_train_update.csv"
    x_train.write_text(x_train.read_text().replace(",100002,", ",1.2e+09,"))
    args = ("run", "--pipelines", "preprocessing", "--params",
            f"data.source=challengedata,data.raw_dir={raw}")  # fmt: skip
    result = kedro(project, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    assert error_message(output) == [
        f"Error: raw_products: {x_train}: column 'productid' must hold integers; 1 value(s) are "
        "not (data row 3: '1.2e+09' (scientific notation: a spreadsheet rounded it; store ids "
        "as text))."
    ]
    verbose = kedro(project, *args, "-v")
    assert verbose.returncode == 1 and "Traceback" in verbose.stdout + verbose.stderr
