"""Debian's Chromium driven by the `playwright` package: the tests that look at a page as a user
does (`apt-get install chromium`; `.ci/run` installs it when it can, `playwright` is in the
test extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
#: Where a browser test saves what it saw, inside the project whose pages it opened.
SCREENSHOTS = Path("data/08_reporting/screenshots")


def missing_browser() -> str | None:
    """Why no browser test can run here, or ``None``."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed: pip install -e '.[test]'"
    if not CHROMIUM.exists():
        return f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install chromium"
    return None
