"""Parameter blocks that extend another, and the ``add`` resolver (rakuten_kedro.config_loader)."""

from __future__ import annotations

import re

import pytest

from rakuten_kedro.config import ConfigError
from rakuten_kedro.config_loader import add, expand_extends, merged
from tests.params import parameters

BASE = {
    "text_a": {"training": {"seed": 1, "lr": 0.1}, "model": {"width": 8}},
    "fusion": {"n_folds": 4},
}


def test_a_block_is_its_parent_with_its_own_keys_merged_in():
    parameters = {**BASE, "text_b": {"extends": "text_a", "training": {"seed": 2}}}
    expanded = expand_extends(parameters)
    assert expanded["text_b"] == {"training": {"seed": 2, "lr": 0.1}, "model": {"width": 8}}
    assert expanded["text_a"] == BASE["text_a"]  # the parent is left as it was
    assert parameters["text_b"] == {"extends": "text_a", "training": {"seed": 2}}  # no mutation


def test_extends_chains_and_order_does_not_matter():
    parameters = {
        "text_c": {"extends": "text_b", "model": {"width": 16}},
        "text_b": {"extends": "text_a", "training": {"seed": 2}},
        **BASE,
    }
    assert expand_extends(parameters)["text_c"] == {
        "training": {"seed": 2, "lr": 0.1}, "model": {"width": 16}
    }  # fmt: skip


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"text_b": {"extends": "text_x"}}, "text_b.extends: names no parameter block: 'text_x'"),
        (
            {**BASE, "text_b": {"extends": "text_aa"}},
            "names no parameter block: 'text_aa' (did you mean 'text_a'?)",
        ),
        (
            {"a": {"extends": "b"}, "b": {"extends": "a"}},
            "b.extends: blocks extend each other: a -> b -> a",
        ),
        ({"a": {"extends": "a"}}, "a.extends: blocks extend each other: a -> a"),
    ],
)
def test_a_wrong_extends_names_the_block(parameters, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        expand_extends(parameters)


def test_merged_replaces_values_and_merges_mappings():
    assert merged({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}, "d": 3}) == {
        "a": {"b": 1, "c": [2]}, "d": 3
    }  # fmt: skip


def test_add_sums_seeds_given_as_text_or_numbers():
    assert add("2020", 1) == 2021 and add(7, "2") == 9


def test_the_tests_parameters_are_read_as_a_run_reads_them():
    quality = parameters("quality")
    assert "extends" not in quality["text_transformer_2"]
    assert quality["text_transformer_2"]["model"] == quality["text_transformer"]["model"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${add:abc, 1}", "block.seed: ValueError raised while resolving interpolation"),
        ("${globals:nope}", "block.seed: Globals key 'nope' not found"),
    ],
)
def test_a_parameter_that_cannot_be_resolved_is_a_config_error_naming_it(tmp_path, value, message):
    from rakuten_kedro.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS  # noqa: PLC0415

    for env in ("base", "local"):
        (tmp_path / env).mkdir()
    (tmp_path / "base" / "parameters.yml").write_text(f"block:\n  seed: {value}\n")
    loader = CONFIG_LOADER_CLASS(str(tmp_path), env="local", **CONFIG_LOADER_ARGS)
    with pytest.raises(ConfigError, match=re.escape(message)):
        loader["parameters"]
