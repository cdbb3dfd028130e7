"""Where a run's time went: a per-node wall-time table logged at the end of each `kedro run`.

A run of the whole method is a few minutes on a laptop and hours on a GPU; the table says which
node to speed up (or to resume from) without a profiler.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


def timing_table(durations: dict[str, float], top: int = 10) -> str:
    """The ``top`` slowest nodes with their seconds and share of the total, as text.

    Args:
        durations: Node name -> wall seconds.
        top: Rows to show; the rest are summed into one line.

    Returns:
        A small fixed-width table, slowest first, ending with the total.
    """
    total = sum(durations.values())
    ranked = sorted(durations.items(), key=lambda item: item[1], reverse=True)
    width = max((len(name) for name, _ in ranked[:top]), default=4)
    lines = [f"{'node':<{width}}  {'seconds':>8}  {'share':>6}"]
    for name, seconds in ranked[:top]:
        lines.append(f"{name:<{width}}  {seconds:8.1f}  {seconds / max(total, 1e-9):6.1%}")
    rest = ranked[top:]
    if rest:
        seconds = sum(s for _, s in rest)
        label = f"({len(rest)} other nodes)"
        lines.append(f"{label:<{width}}  {seconds:8.1f}  {seconds / max(total, 1e-9):6.1%}")
    lines.append(f"{'total':<{width}}  {total:8.1f}")
    return "\n".join(lines)


class NodeTimingHooks:
    """Time every node and log the slowest ones when the pipeline ends (or fails)."""

    def __init__(self, top: int = 10) -> None:
        self.top = top
        self._started: dict[str, float] = {}
        self.durations: dict[str, float] = {}

    @hook_impl
    def before_pipeline_run(self) -> None:
        self._started.clear()
        self.durations.clear()

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        started = self._started.pop(node.name, None)
        if started is not None:
            self.durations[node.name] = time.perf_counter() - started

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._log("Node wall times")

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._log("Node wall times before the error (a rerun resumes)")

    def _log(self, title: str) -> None:
        if self.durations:
            logger.info("%s:\n%s", title, timing_table(self.durations, self.top))
