"""First contact, tried as a new user would: plain `kedro` commands in a fresh clone.

No telemetry variable is set (the project's `.telemetry` must opt out on its own), every HTTP(S)
request is routed to a loopback listener that records it, and the user's config folders are
temporary (kedro-viz's build writes a random telemetry id there whatever the consent, and
sends or embeds nothing).
"""

from __future__ import annotations

import json
import os
import re
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.kedro_project import KEDRO_CLI, PROJECT, TINY_DEMO

RUN = ("run", "--pipelines", "preprocessing", "--params", TINY_DEMO)
PLAIN_COMMANDS = [("catalog", "--help"), ("jupyter", "setup"), RUN, ("viz", "build")]
TELEMETRY_OPT_OUTS = ("KEDRO_DISABLE_TELEMETRY", "DO_NOT_TRACK")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


class _RequestRecorder(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        first_line = self.request.recv(512).decode("latin-1").split("\r\n")[0]
        self.server.requests.append(first_line)


@contextmanager
def recording_proxy() -> Iterator[tuple[str, list[str]]]:
    """A loopback 'proxy' that answers nothing and records each request's first line."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _RequestRecorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests
    finally:
        server.shutdown()
        server.server_close()


def plain_environment(clone: Path, home: Path, proxy: str) -> dict[str, str]:
    """The user's environment without telemetry opt-outs, with the clone's code first."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in TELEMETRY_OPT_OUTS and name.lower() != "no_proxy"
    }
    env.update(dict.fromkeys(PROXY_VARIABLES, proxy))
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["JUPYTER_DATA_DIR"] = str(home / "jupyter")  # where `kedro jupyter setup` installs
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(clone / "src"), env.get("PYTHONPATH")]))
    return env


def git(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=clone, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def first_contact(tmp_path_factory) -> dict:
    """Clones the committed project and runs each plain command in it once."""
    if not (PROJECT / ".git").exists():
        pytest.skip("the project is not a git checkout: nothing to clone")
    clone = tmp_path_factory.mktemp("first_contact") / "clone"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT), str(clone)], check=True)
    home = clone.parent / "home"
    outputs = {}
    with recording_proxy() as (proxy, requests):
        env = plain_environment(clone, home, proxy)
        for command in PLAIN_COMMANDS:
            result = subprocess.run(
                [str(KEDRO_CLI), *command], cwd=clone, env=env, capture_output=True, text=True,
                timeout=900, check=False,
            )  # fmt: skip
            assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])
            outputs[command] = result
    return {"clone": clone, "home": home, "outputs": outputs, "requests": list(requests)}


def test_plain_kedro_commands_leave_the_clone_untouched(first_contact):
    clone = first_contact["clone"]
    assert git(clone, "status", "--porcelain") == ""
    assert (clone / "pyproject.toml").read_text() == git(clone, "show", "HEAD:pyproject.toml")
    assert "kedro_telemetry" not in (clone / "pyproject.toml").read_text()


def test_plain_kedro_commands_send_nothing_and_say_nothing_about_telemetry(first_contact):
    assert first_contact["requests"] == []  # not even a failed attempt to call out
    for result in first_contact["outputs"].values():
        assert "usage data" not in result.stdout + result.stderr
    index = (first_contact["clone"] / "build" / "index.html").read_text()
    assert "<head>" in index and "heap" not in index.lower()  # no analytics script on the page


def test_jupyter_setup_installs_the_kernel_the_notebook_names(first_contact):
    notebook = json.loads((PROJECT / "notebooks" / "results_analysis.ipynb").read_text())
    kernel = notebook["metadata"]["kernelspec"]["name"]
    spec = json.loads((first_contact["home"] / "jupyter" / "kernels" / kernel / "kernel.json")
                      .read_text())  # fmt: skip
    assert spec["argv"][-2:] == ["--ext", "kedro.ipython"]


def test_a_run_prints_almost_no_warnings_and_ends_with_its_summary(first_contact):
    result = first_contact["outputs"][RUN]
    output = result.stdout + result.stderr
    warning_lines = [line for line in output.splitlines() if re.search("warning", line, re.I)]
    assert len(warning_lines) < 5, "\n".join(warning_lines)
    assert result.stdout.rstrip().splitlines()[-1].startswith("Run summary")


def test_a_plain_command_prints_no_warning_at_all(first_contact):
    # A warning block spans many wrapped lines of which one says "WARNING": none is expected
    # before a command that does no work (MLflow's check of kedro-mlflow's model class was one).
    result = first_contact["outputs"][("catalog", "--help")]
    output = result.stdout + result.stderr
    assert not re.search("warning", output, re.I), output[:3000]
