"""The ensemble's members, declared once in the parameters and read when pipelines are built.

A member is a decision-level fusion of one text variant and one image variant with one fusion
network, e.g. ``{name: fusion_transformer_dcl_2layer, text: text_transformer,
image: image_dcl_clean, network: two_layer}``; the list lives under ``ensemble.members`` in
``conf/<env>/parameters_ensemble.yml`` and its first member is the headline
``decision_fusion``.

Kedro builds pipelines before it reads parameters, but the members decide the pipelines' shape
(one namespace per member). So ``load_members`` reads that one parameter itself, through the
running session's config loader when a hook has handed it over (``use_config_loader``, called
from the project's ``after_context_created`` hook, so ``--env rakuten`` picks the rakuten
members), else through a fresh ``OmegaConfigLoader`` on ``./conf`` for ``$KEDRO_ENV`` (tests,
scripts). The member list shapes the pipelines and cannot be changed with ``--params``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_config_loader: Any = None


@dataclass(frozen=True)
class EnsembleMember:
    """One decision-level fusion of the ensemble.

    Attributes:
        name: Its Kedro namespace (outputs ``{name}.val_probs``, …).
        text: Text variant whose probabilities it fuses (e.g. ``text_transformer``).
        image: Image variant whose probabilities it fuses (e.g. ``image_dcl_clean``).
        network: Key of its network under ``fusion.networks`` (e.g. ``two_layer``).
    """

    name: str
    text: str
    image: str
    network: str


def parse_members(members: Any, networks: dict | None = None) -> list[EnsembleMember]:
    """Validates the ``ensemble.members`` parameter.

    Args:
        members: A list of mappings with ``name``, ``text``, ``image``, ``network``.
        networks: The ``fusion.networks`` parameter, to check that every named network exists.

    Returns:
        The members, in declaration order.
    """
    if not isinstance(members, list | tuple) or not members:
        raise ValueError(
            "parameter ensemble.members must be a non-empty list of "
            "{name, text, image, network} entries (see conf/base/parameters_ensemble.yml)"
        )
    parsed = []
    for position, entry in enumerate(members):
        keys = ("name", "text", "image", "network")
        if not isinstance(entry, dict) or any(key not in entry for key in keys):
            raise ValueError(f"ensemble.members[{position}] must have keys {keys}, got {entry!r}")
        member = EnsembleMember(**{key: str(entry[key]) for key in keys})
        for key in keys:
            if not _NAME.match(getattr(member, key)):
                raise ValueError(
                    f"ensemble.members[{position}].{key} = {getattr(member, key)!r} is not a "
                    "valid namespace name (letters, digits, underscores)"
                )
        if networks is not None and member.network not in networks:
            raise ValueError(
                f"ensemble.members[{position}] ({member.name}) names network "
                f"{member.network!r}, not one of fusion.networks: {sorted(networks)}"
            )
        parsed.append(member)
    names = [member.name for member in parsed]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"ensemble.members: duplicated names {duplicated}")
    return parsed


def use_config_loader(config_loader: Any) -> None:
    """Makes ``load_members`` read the running session's configuration (env, conf source).

    Args:
        config_loader: The session context's ``config_loader``.
    """
    global _config_loader  # noqa: PLW0603 - one process-wide handle set by a Kedro hook
    _config_loader = config_loader


def _fallback_loader(conf_source: str | Path | None, env: str | None) -> Any:
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415 - only outside a session

    conf_source = Path(conf_source) if conf_source else Path.cwd() / "conf"
    if not conf_source.is_dir():
        raise FileNotFoundError(
            f"no configuration folder {conf_source}: run from the project root, or pass "
            "members=[…] to create_pipeline"
        )
    return OmegaConfigLoader(
        conf_source=str(conf_source),
        base_env="base",
        default_run_env=env or os.environ.get("KEDRO_ENV") or "local",
    )


def load_members(
    config_loader: Any = None, conf_source: str | Path | None = None, env: str | None = None
) -> list[EnsembleMember]:
    """Reads and validates ``ensemble.members`` from the parameters.

    Args:
        config_loader: A Kedro config loader; default: the one handed over by
            ``use_config_loader``, else a new one on ``conf_source`` for ``env``.
        conf_source: Configuration folder for the new loader (default ``./conf``).
        env: Environment for the new loader (default ``$KEDRO_ENV``, else ``local``).

    Returns:
        The members, in declaration order (the first is the headline decision fusion).
    """
    # `is None`, not `or`: a config loader is a mapping, and an unread one is falsy.
    if config_loader is None:
        config_loader = _config_loader
    loader = config_loader if config_loader is not None else _fallback_loader(conf_source, env)
    parameters = loader["parameters"]
    members = (parameters.get("ensemble") or {}).get("members")
    networks = (parameters.get("fusion") or {}).get("networks")
    return parse_members(members, networks)
