"""Per-node wall-time table logged at the end of a run."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from rakuten_kedro.timing import NodeTimingHooks, timing_rows


def test_table_lists_the_slowest_nodes_first_and_sums_the_rest():
    rows = timing_rows({"fast": 1.0, "slow": 6.0, "middle": 3.0}, top=2)
    assert rows[0].split() == ["6.0", "s", "60.0%", "slow"]
    assert rows[1].split() == ["3.0", "s", "30.0%", "middle"]
    assert rows[2].split()[:3] == ["1.0", "s", "10.0%"] and rows[2].endswith("(1 other nodes)")
    assert rows[-1].split() == ["10.0", "s", "100%", "total"]


def test_hooks_time_each_node_and_log_the_table(caplog):
    hooks = NodeTimingHooks()
    hooks.before_pipeline_run()
    for name in ("train_node", "score_node"):
        hooks.before_node_run(SimpleNamespace(name=name))
        hooks.after_node_run(SimpleNamespace(name=name))
    assert set(hooks.durations) == {"train_node", "score_node"}
    assert all(seconds >= 0 for seconds in hooks.durations.values())
    with caplog.at_level(logging.INFO, logger="rakuten_kedro.timing"):
        hooks.on_pipeline_error()
    assert "before the error" in caplog.text and "train_node" in caplog.text
