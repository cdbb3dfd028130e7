"""Where a run's time went: the slowest nodes' wall times, logged when each `kedro run` ends.

A run of the whole method is a few minutes on a laptop and hours on a GPU; the table says which
node to speed up (or to resume from) without a profiler. It is short and comes before the run
summary (``run_summary``), which is what a run should end with.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


def timing_rows(durations: dict[str, float], top: int = 5) -> list[str]:
    """The ``top`` slowest nodes as ``seconds  share  name`` lines, then the rest and the total.

    The name comes last so that a narrow log keeps the figures aligned when it wraps.

    Args:
        durations: Node name -> wall seconds.
        top: Rows to show; the other nodes are summed into one line.

    Returns:
        One line per row, slowest first, ending with the total.
    """
    total = sum(durations.values())
    ranked = sorted(durations.items(), key=lambda item: item[1], reverse=True)
    rows = ranked[:top]
    if ranked[top:]:
        rows.append((f"({len(ranked) - top} other nodes)", sum(s for _, s in ranked[top:])))
    share = max(total, 1e-9)
    lines = [f"{seconds:8.1f} s {seconds / share:6.1%}  {name}" for name, seconds in rows]
    return [*lines, f"{total:8.1f} s {1:6.0%}  total"]


class NodeTimingHooks:
    """Time every node and log the slowest ones when the pipeline ends (or fails)."""

    def __init__(self, top: int = 5) -> None:
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
            logger.info("%s (slowest first):", title)
            for line in timing_rows(self.durations, self.top):
                logger.info("%s", line)
