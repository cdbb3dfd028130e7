"""Per-node wall-time table logged at the end of a run."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from rakuten_kedro.timing import NodeTimingHooks, timing_table


def test_table_lists_the_slowest_nodes_first_and_sums_the_rest():
    table = timing_table({"fast": 1.0, "slow": 6.0, "middle": 3.0}, top=2).splitlines()
    assert table[1].split()[:2] == ["slow", "6.0"]
    assert table[2].split()[:2] == ["middle", "3.0"]
    assert "(1 other nodes)" in table[3] and "10.0%" in table[3]
    assert table[-1].split() == ["total", "10.0"]


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
