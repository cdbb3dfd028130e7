"""The project's own parameters (conf/base, or an environment over it), with test-sized overrides.

Tests read every setting they do not change from conf/base, as a run does, so a typed config
that gains a required key needs no edit here (only in conf/base). The benchmarks read their
parameters here too (``benchmarks/common.py``).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from rakuten_kedro.config_loader import merged

CONF = Path(__file__).resolve().parents[1] / "conf"


@functools.cache
def _parameters(env: str) -> dict[str, Any]:
    # The project settings import Kedro's framework, which sets up logging and logs it: only
    # when parameters are read (a benchmark that measures nothing prints nothing else).
    from rakuten_kedro.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS  # noqa: PLC0415

    loader = CONFIG_LOADER_CLASS(str(CONF), env=env, **CONFIG_LOADER_ARGS)
    return dict(loader["parameters"])


def parameters(env: str = "local") -> dict[str, Any]:
    """Every parameter of ``env`` (conf/base merged with conf/<env>), as a run reads them."""
    return copy.deepcopy(_parameters(env))


def params(block: str, env: str = "local", **overrides: Any) -> dict[str, Any]:
    """The parameter block ``block`` (dotted) of ``env``, with ``overrides`` merged in.

    Overrides of nested blocks are dicts merged key by key:
    ``params("denoising", train={"epochs": 1})`` keeps the other ``train`` keys.
    """
    value: Any = _parameters(env)
    for part in block.split("."):
        value = value[part]
    return merged(value, overrides)
