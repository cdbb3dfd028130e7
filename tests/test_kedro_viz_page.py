"""The lineage page as a user sees it: `kedro viz build`, served over HTTP, opened in Chromium:
its layers, its pipelines and every variant and member namespace of the grid.

Needs Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it when it can) and the
`playwright` package (test extra). `RAKUTEN_UPDATE_SCREENSHOT=1` also writes the screenshot the
README shows (docs/images/kedro_viz.png); otherwise it goes to a temporary folder.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rakuten_kedro.grid import load_grid
from tests.kedro_project import PROJECT, kedro, scratch_project
from tests.test_project import LAYER_ORDER

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
PIPELINES = ["preprocessing", "text_model", "denoising", "image_model", "fusion", "ensemble",
             "reporting", "predict", "__default__"]  # fmt: skip
README_SCREENSHOT = PROJECT / "docs" / "images" / "kedro_viz.png"
# kedro-viz's "new feature" tour covers part of the graph on a first visit.
NO_FEATURE_HINTS = "localStorage.setItem('KedroViz', JSON.stringify({showFeatureHints: false}))"

sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip(
        f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install chromium",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory) -> Path:
    """A static kedro-viz build of a scratch copy of the project."""
    project = scratch_project(tmp_path_factory.mktemp("viz_project"))
    result = kedro(project, "viz", "build")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "circular dependency" not in output
    return project / "build"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base name)
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serves ``folder`` on a free loopback port; yields its URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_view_shows_the_layers_and_every_pipeline(viz_build: Path, tmp_path: Path):
    update_readme = os.environ.get("RAKUTEN_UPDATE_SCREENSHOT") == "1"
    screenshot = README_SCREENSHOT if update_readme else tmp_path / "kedro_viz.png"
    with serve(viz_build) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.add_init_script(NO_FEATURE_HINTS)
        page.goto(url)
        page.wait_for_selector(".pipeline-layer-name", timeout=60_000)
        page.wait_for_timeout(1500)  # the layout settles
        layers = page.locator(".pipeline-layer-name").all_inner_texts()
        bands = page.locator(".pipeline-layer").count()
        page_text = page.inner_text("body").lower().replace("_", " ")  # pretty names or not
        page.screenshot(path=str(screenshot))
        page.locator('[data-test="kedro-pipeline-selector"]').click()
        pipelines = page.locator(".pipeline-list .menu-option").all_inner_texts()
        browser.close()
    assert layers == [layer for layer in LAYER_ORDER if layer in layers]  # in data-flow order
    # Each variant and member is a collapsed namespace by default: its models are inside it.
    assert {"raw", "primary", "model_output", "fusion_input", "fusion_output"} <= set(layers)
    assert bands == len(layers)
    assert sorted(name.strip() for name in pipelines) == sorted(PIPELINES)
    namespaces = set().union(*load_grid("local", PROJECT / "conf").namespaces().values())
    assert sorted(n for n in namespaces if n.replace("_", " ") not in page_text) == []
    assert not [address for address in requested if "heap" in address]  # no analytics
    assert screenshot.read_bytes().startswith(b"\x89PNG")
