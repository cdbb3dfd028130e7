"""The architectures a saved model folder may name: a fixed list of this project's builders.

A model folder says *which* architecture to rebuild by a key of :data:`ARCHITECTURES` and with
which plain-valued arguments; it never names a Python import path, so a crafted ``config.json``
can at most ask for one of these builders with wrong sizes (refused when the weights do not
fit), never run code of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from rakuten_kedro.models.fusion import build_decision_fold_ensemble
from rakuten_kedro.models.image import rebuild_image_classifier

#: Key written in a saved model's ``config.json`` → the builder of its (untrained) module.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet_classifier": rebuild_image_classifier,
    "decision_fold_ensemble": build_decision_fold_ensemble,
}
_PLAIN = (str, int, float, bool, type(None))


class UnknownArchitecture(ValueError):
    """A saved model names an architecture or arguments this project does not build."""


def build_architecture(architecture: Any, kwargs: Any) -> nn.Module:
    """Builds the untrained module a saved model folder describes.

    Args:
        architecture: A key of :data:`ARCHITECTURES`.
        kwargs: The builder's keyword arguments: plain values (numbers, strings, booleans,
            ``None``, lists of those) for parameters the builder declares.

    Returns:
        The module, ready for the saved weights.

    Raises:
        UnknownArchitecture: For any other key, argument or value type.
    """
    if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
        raise UnknownArchitecture(
            f"unknown architecture {architecture!r}: this project builds {sorted(ARCHITECTURES)}"
        )
    builder = ARCHITECTURES[architecture]
    if not isinstance(kwargs, Mapping):
        raise UnknownArchitecture(f"{architecture}: kwargs must be a mapping, got {kwargs!r}")
    accepted = set(inspect.signature(builder).parameters)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise UnknownArchitecture(f"{architecture} takes {sorted(accepted)}, not {unknown}")
    for name, value in kwargs.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(item, _PLAIN) for item in values):
            raise UnknownArchitecture(
                f"{architecture}: {name} must be a plain value, got {value!r}"
            )
    return builder(**kwargs)
