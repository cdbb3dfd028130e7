"""accuracy.seed_params: the run's ``seed`` shifted by the seed index moves every training seed
of every preset and keeps the validation split."""

from __future__ import annotations

from pathlib import Path

import accuracy
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from rakuten_kedro.config import plain_value
from tests.kedro_project import PROJECT

#: The benchmark's earlier overrides for seed index 1 (each training seed of the conf/base of
#: then, now ``--env paper``, + 1): the seeds measured before ``seed_params`` shifted ``seed``
#: itself.
EARLIER_SEED_1 = {
    "text_transformer": {"training": {"seed": 2021}}, "text_tfidf": {"model": {"seed": 2021}},
    "denoising": {"seed": 2021, "run": {"seed": 2021}},
    "image_dcl_clean": {"run": {"seed": 2021}}, "image_plain_noisy": {"run": {"seed": 2021}},
    "fusion": {"cross_validation": {"seed": 2021}, "training": {"seed": 2021}},
    "feature_fusion": {"seed": 2021},
}  # fmt: skip


def nested(dotted: dict) -> dict:
    result: dict = {}
    for key, value in dotted.items():
        *parents, last = key.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return result


def params(env: str | None, runtime_params: dict) -> dict:
    bootstrap_project(PROJECT)
    session = KedroSession.create(PROJECT, env=env, runtime_params=runtime_params)
    return plain_value(session.load_context().params)


@pytest.fixture(autouse=True)
def no_kedro_env(monkeypatch):
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    monkeypatch.chdir(Path(PROJECT))


@pytest.mark.parametrize("env", [None, "paper"])
def test_seed_index_one_is_the_earlier_per_parameter_shift(env):
    """On the default run and on ``--env paper`` (the conf/base the shift was measured on)."""
    assert accuracy.seed_params(0) == {}
    shifted = params(env, nested(accuracy.seed_params(1)))
    assert shifted.pop("seed") == 2021  # the run-time value itself, which Kedro adds
    assert shifted == params(env, EARLIER_SEED_1)


def test_seed_index_one_moves_the_quality_presets_derived_seeds_too():
    shifted = params("quality", nested(accuracy.seed_params(1)))
    assert [shifted[f"text_transformer{s}"]["training"]["seed"] for s in ("", "_2", "_3")] == [
        2021,
        2022,
        2023,
    ]
    assert shifted["image_plain_clean_3"]["run"]["seed"] == 2023
    assert shifted["preprocessing"]["split"]["seed"] == 2020
