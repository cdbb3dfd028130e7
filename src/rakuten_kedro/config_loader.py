"""The project's config loader: Kedro's ``OmegaConfigLoader`` plus two small additions for
parameter blocks that differ from another only in a few keys (a seed, an epoch count).

* ``extends: <block>`` in a top-level parameters block: the block is that other block, merged
  key by key with what it states itself. A second seed of a variant is four lines of YAML, and a
  change to the first variant's settings reaches its copies (``conf/quality``).
* The ``add`` resolver: ``${add:${runtime_params:seed, ${globals:seed}}, 1}`` is the run's seed
  plus one, so ``kedro run --params seed=7`` still moves every seed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kedro.config import OmegaConfigLoader
from omegaconf.errors import InterpolationResolutionError

from rakuten_kedro.config import ConfigError, Problem, closest_name

EXTENDS = "extends"


def add(first: Any, second: Any) -> int:
    """``${add:a, b}``: the sum of two integers (seeds derived from the run's seed)."""
    return int(first) + int(second)


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in key by key (nested mappings merge, the rest replace)."""
    result = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def expand_extends(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Every top-level block with ``extends: <block>`` replaced by that block merged with its
    own keys (chains allowed).

    Raises:
        ConfigError: When ``extends`` names no top-level block, or blocks extend each other.
    """
    expanded: dict[str, Any] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Any:
        if name in expanded:
            return expanded[name]
        block = parameters[name]
        if isinstance(block, Mapping) and EXTENDS in block:
            parent = block[EXTENDS]
            if parent in (*chain, name):
                cycle = " -> ".join((*chain, name, parent))
                raise ConfigError(
                    [Problem(f"{name}.{EXTENDS}", f"blocks extend each other: {cycle}")]
                )
            if not isinstance(parent, str) or not isinstance(parameters.get(parent), Mapping):
                hint = closest_name(parent, parameters)
                what = f"names no parameter block: {parent!r}{hint}"
                raise ConfigError([Problem(f"{name}.{EXTENDS}", what)])
            own = {key: value for key, value in block.items() if key != EXTENDS}
            block = merged(resolve(parent, (*chain, name)), own)
        expanded[name] = block
        return block

    return {name: resolve(name, ()) for name in parameters}


class ProjectConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` whose parameters have their ``extends`` blocks expanded, and whose
    parameters that cannot be resolved (``--params seed=abc`` into ``add``, an unknown
    ``globals`` key) are a ``ConfigError`` naming the key, not a traceback."""

    def __getitem__(self, key: str) -> Any:
        if key != "parameters":
            return super().__getitem__(key)
        try:
            config = super().__getitem__(key)
        except InterpolationResolutionError as error:
            problem = Problem(str(error.full_key), str(error).splitlines()[0])
            raise ConfigError([problem], "a parameter cannot be resolved") from error
        return expand_extends(config)
