"""Every command the README shows is accounted for, so that no example drifts again.

A command is each line of a ```bash / ```sh / ```console block (``\\`` continuations and
open quotes joined, comments and ``$`` prompts dropped) and each inline code span that starts
with a program below, after any ``NAME=value`` assignments. ``tests/readme_commands.yml``
holds one entry per command, keyed by its exact text, of one of three kinds:

- ``run``: run here by bash in one scratch project (tracked, as a user's is), the entries in
  file order, so that later ones find what earlier ones made; checked on its exit status
  (``exit``, default 0) and on at least one of ``output`` (a fragment of what it prints),
  ``file: {path: fragment}`` (something it writes) and ``absent: [paths]`` (what it deletes).
  Optional: ``append`` (arguments added, e.g. ``--pipelines preprocessing`` to a minutes-long
  whole run), ``env`` (variables), ``until`` (a server: the output that shows it is up; then
  it is stopped), ``timeout`` (seconds, default 120).
- ``covered_by: tests/...::name`` (a test or fixture) with ``contains``: the part of its source
  that runs the command (default: the command itself).
- ``not_here: reason``: what cannot run here (a GPU, the real data, the whole suite), naming
  the smaller test that covers the same code path, if any.

A key is the command as one line: continuation lines joined by one space. A README command
without an entry, or an entry whose command the README no longer shows, fails here. The
``run`` entries are marked ``integration``: each is a real process (minutes in all).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.kedro_project import PROJECT, kedro_environment, scratch_project

README = PROJECT / "README.md"
MAPPING = Path(__file__).with_name("readme_commands.yml")
PROGRAMS = ("kedro", "make", "python", "accelerate", "pip", "pytest", "mlflow", "curl")
SHELL_FENCES = ("bash", "sh", "console")
#: What the scratch project holds beyond ``scratch_project``'s copy, for the commands to find.
REPO_FILES = ("Makefile", "README.md", "benchmarks", "tests")
KINDS = {"run", "covered_by", "not_here"}
RUN_FIELDS = {"output", "exit", "append", "env", "until", "file", "absent", "timeout"}
ASSIGNMENTS = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*")


def _code_and_quote(line: str, quote: str | None) -> tuple[str, str | None]:
    """``line`` without its comment, and the quote still open at its end (``quote``: open at
    its start)."""
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), None
    return line.rstrip(), quote


def fenced_commands(block: list[tuple[int, str]]) -> list[tuple[str, int]]:
    """The commands of one shell block, each with the README line it starts on."""
    commands, parts, start, quote = [], [], 0, None
    for number, line in block:
        text = line.strip()
        if not parts:
            start, text = number, text.removeprefix("$ ")
        code, quote = _code_and_quote(text, quote)
        if code.endswith("\\") and not quote:
            parts.append(code[:-1].strip())
            continue
        parts.append(code)
        if quote:
            continue
        command = " ".join(part for part in parts if part)
        parts = []
        if command:
            commands.append((command, start))
    return commands


def readme_commands(text: str) -> dict[str, list[int]]:
    """Every command of the README, with the lines where it appears."""
    found: dict[str, list[int]] = {}
    prose, block, fence = [], [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("```"):
            if fence is None:
                fence, block = line.strip()[3:].strip(), []
            else:
                if fence in SHELL_FENCES:
                    for command, start in fenced_commands(block):
                        found.setdefault(command, []).append(start)
                fence = None
            prose.append("")
            continue
        if fence is None:
            prose.append(line)
        else:
            block.append((number, line))
            prose.append("")
    text_outside_blocks = "\n".join(prose)
    for span in re.finditer(r"`([^`]+)`", text_outside_blocks):
        command = " ".join(span.group(1).split())
        if ASSIGNMENTS.sub("", command).startswith(tuple(p + " " for p in PROGRAMS)):
            line = text_outside_blocks.count("\n", 0, span.start()) + 1
            found.setdefault(command, []).append(line)
    return {command: sorted(lines) for command, lines in found.items()}


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))
ENTRIES: dict[str, dict] = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
RUNS = [(command, entry["run"]) for command, entry in ENTRIES.items() if "run" in entry]


def _short(command: str) -> str:
    return command if len(command) < 60 else command[:57] + "..."


# The mapping matches the README


def test_commands_are_read_from_shell_blocks_and_inline_spans():
    readme = """Run `kedro run --params "seed=7"` or `OMP_NUM_THREADS=1 kedro
run`, not `--params x` nor `ls`.

```bash
$ make demo   # a comment
accelerate launch --num_processes 2 \\
  -m kedro run   # 'quoted' comment
curl -d '{
  "a": "#1"}'
```

```yaml
kedro: not a command
```
"""
    assert readme_commands(readme) == {
        'kedro run --params "seed=7"': [1],
        "OMP_NUM_THREADS=1 kedro run": [1],
        "make demo": [5],
        "accelerate launch --num_processes 2 -m kedro run": [6],
        """curl -d '{ "a": "#1"}'""": [8],
    }


def test_every_readme_command_has_an_entry():
    missing = [f"README.md:{lines[0]}: {command}" for command, lines in COMMANDS.items()
               if command not in ENTRIES]  # fmt: skip
    assert not missing, f"add these to {MAPPING.name}:\n" + "\n".join(missing)


def test_every_entry_is_a_command_the_readme_shows():
    stale = [command for command in ENTRIES if command not in COMMANDS]
    assert not stale, f"{MAPPING.name} names commands the README no longer shows:\n" + "\n".join(
        stale
    )


@pytest.mark.parametrize("command", ENTRIES, ids=_short)
def test_each_entry_is_one_kind_with_known_fields(command: str):
    entry = ENTRIES[command]
    kinds = KINDS & set(entry)
    assert len(kinds) == 1, f"{command}: one of {sorted(KINDS)}, got {sorted(entry)}"
    if "run" in entry:
        assert set(entry["run"]) <= RUN_FIELDS, command
        assert {"output", "file", "absent"} & set(entry["run"]), f"{command}: checks nothing"
    elif "covered_by" in entry:
        assert set(entry) <= {"covered_by", "contains"}, command
    else:
        assert set(entry) == {"not_here"} and entry["not_here"].strip(), command


def _function_source(path: Path, name: str) -> str | None:
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(source, node)
    return None


@pytest.mark.parametrize(
    "command", [c for c, entry in ENTRIES.items() if "covered_by" in entry], ids=_short
)
def test_the_covering_test_exists_and_runs_the_command(command: str):
    path, _, name = ENTRIES[command]["covered_by"].partition("::")
    assert (PROJECT / path).is_file(), f"{command}: no file {path}"
    source = _function_source(PROJECT / path, name)
    assert source is not None, f"{command}: {path} has no function {name}"
    assert ENTRIES[command].get("contains", command) in source, f"{command}: not in {name}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("make ")], ids=_short)
def test_make_targets_exist(command: str):
    target = command.split()[1]
    assert re.search(rf"^{re.escape(target)}:", (PROJECT / "Makefile").read_text(), re.M), command


# The commands marked `run`, run


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A tracked scratch project with the files the README's commands read."""
    project = scratch_project(tmp_path_factory.mktemp("readme") / "project", tracking=True)
    for name in REPO_FILES:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    return project


def _environment(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment with this venv's programs first, as after `. .venv/bin/activate`."""
    env = kedro_environment(**extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    return env


def _serve_until(command: str, project: Path, env: dict, ready: str, timeout: float) -> str:
    """Starts a server, waits for ``ready`` in its output, stops it; returns the output."""
    process = subprocess.Popen(
        ["bash", "-c", command], cwd=project, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while ready not in "".join(lines) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its workers, nothing else
        process.wait(timeout=60)
    reader.join(timeout=10)
    return "".join(lines)


@pytest.mark.integration
@pytest.mark.parametrize(("command", "run"), RUNS, ids=[_short(c) for c, _ in RUNS])
def test_the_readme_command_runs(project: Path, command: str, run: dict):
    line = " ".join([command, *run.get("append", "").split()])
    env = _environment({name: str(value) for name, value in run.get("env", {}).items()})
    timeout = run.get("timeout", 120)
    if "until" in run:
        output = _serve_until(line, project, env, run["until"], timeout)
        assert run["until"] in output, output[-3000:]
    else:
        result = subprocess.run(["bash", "-c", line], cwd=project, env=env, capture_output=True,
                                text=True, timeout=timeout, check=False)  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == run.get("exit", 0), output[-3000:]
    assert run.get("output", "") in output, output[-3000:]
    for path, fragment in run.get("file", {}).items():
        assert fragment in (project / path).read_text(encoding="utf-8"), path
    for path in run.get("absent", []):
        assert not (project / path).exists(), path
