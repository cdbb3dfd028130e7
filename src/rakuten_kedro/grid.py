"""The experiment grid: which variants exist and which ensemble members fuse them.

Declared once per environment, in the ``grid`` block of ``conf/<env>/parameters_grid.yml``:

- ``text``: text variants, each ``{name, kind, training_ids}`` with ``kind`` ``transformer``
  or ``tfidf``;
- ``image``: image variants, each ``{name, training_ids, dcl}``: whether stage 2 fine-tunes
  with DCL;
- ``training_ids`` (text and image): ``denoised`` (the denoising pipeline's
  ``clean_training_ids``) or ``all`` (every training product);
- ``members``: the ensemble's decision-level fusions, each ``{name, text, image, network}``
  naming a text variant, an image variant and a network of ``fusion.networks``.

No entry is declared the headline: the reporting shows as ``text``, ``image`` and
``decision_fusion`` the text variant, image variant and member with the best validation
macro-F1 (``rakuten_kedro.reporting.headline``). The fusion baselines (stacking and
feature-level fusion) are comparisons, not the submission: they run over the inputs of the
first member whose text variant is a transformer (:attr:`Grid.baseline_member`; feature fusion
reads the text variant's features, which a TF-IDF variant has not), so a grid needs one.

Each name is a Kedro namespace with its own parameters block; the pipelines are built from the
grid, so adding a variant or a member is a YAML edit. Kedro builds pipelines before it reads
parameters, so the grid is read here, from the configuration of the environment the process
runs in (:func:`grid_environment`), by the same loader settings as the session's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEXT_KINDS = ("transformer", "tfidf")
TRAINING_IDS = {"denoised": "clean_training_ids", "all": "all_training_ids"}
#: Namespaces of the project's own (non-grid) outputs, which a grid name must not take.
RESERVED_NAMES = frozenset(
    {"ensemble", "denoising", "stacking_logreg", "feature_fusion_concat", "feature_fusion_sum",
     "feature_fusion_attention"}
)  # fmt: skip
GRID_FILE = "parameters_grid.yml"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GridError(ValueError):
    """The grid declaration is inconsistent; the message names the file and the entry."""


class _LearnsFromIds:
    """A variant that learns from the training ids its ``training_ids`` names."""

    training_ids: str

    @property
    def training_ids_dataset(self) -> str:
        """The catalog entry of its training ids."""
        return TRAINING_IDS[self.training_ids]


@dataclass(frozen=True)
class TextVariant(_LearnsFromIds):
    """A text model variant: namespace ``name``, a ``transformer`` or a ``tfidf`` model, the
    training ids it learns from (``denoised`` or ``all``)."""

    name: str
    kind: str
    training_ids: str


@dataclass(frozen=True)
class ImageVariant(_LearnsFromIds):
    """An image model variant: namespace ``name``, the training ids it learns from, DCL on/off.

    Attributes:
        training_ids: ``denoised`` or ``all``.
        dcl: Whether stage 2 fine-tunes with DCL (else plain cross-entropy).
    """

    name: str
    training_ids: str
    dcl: bool


@dataclass(frozen=True)
class EnsembleMember:
    """One decision-level fusion of the ensemble (namespace ``name``).

    Attributes:
        text: Text variant whose probabilities it fuses.
        image: Image variant whose probabilities it fuses.
        network: Key of its network under ``fusion.networks``.
    """

    name: str
    text: str
    image: str
    network: str


@dataclass(frozen=True)
class Grid:
    """The declared variants and members of one environment."""

    text: tuple[TextVariant, ...]
    image: tuple[ImageVariant, ...]
    members: tuple[EnsembleMember, ...]
    environment: str = "local"

    @property
    def baseline_member(self) -> EnsembleMember:
        """The member whose inputs the fusion baselines (stacking, feature fusion) use: the
        first with a transformer text variant, as feature fusion reads its text features."""
        return self.transformer_members()[0]

    def transformer_members(self) -> list[EnsembleMember]:
        """Members whose text variant is a transformer (it has features), in declaration order."""
        return [m for m in self.members if self.text_variant(m.text).kind == "transformer"]

    @property
    def uses_denoising(self) -> bool:
        """Whether a variant trains on the denoising pipeline's ids (``denoised``): if none
        does, a run skips denoising's k-fold training."""
        return any(v.training_ids == "denoised" for v in (*self.text, *self.image))

    def text_variant(self, name: str) -> TextVariant:
        """The text variant ``name``."""
        return next(variant for variant in self.text if variant.name == name)

    def used_text(self) -> list[TextVariant]:
        """Text variants some member fuses, in declaration order."""
        used = {member.text for member in self.members}
        return [variant for variant in self.text if variant.name in used]

    def used_image(self) -> list[ImageVariant]:
        """Image variants some member fuses, in declaration order."""
        used = {member.image for member in self.members}
        return [variant for variant in self.image if variant.name in used]

    def namespaces(self) -> dict[str, set[str]]:
        """Every namespace the grid declares, by kind (``text``, ``image``, ``members``)."""
        return {
            "text": {variant.name for variant in self.text},
            "image": {variant.name for variant in self.image},
            "members": {member.name for member in self.members},
        }


def parse_grid(
    parameters: Mapping[str, Any], source: str = GRID_FILE, environment: str = "local"
) -> Grid:
    """Validates the ``grid`` parameter and every cross-reference in it.

    Args:
        parameters: The environment's parameters (``grid`` and ``fusion.networks`` are read).
        source: Where the grid is declared, for error messages.
        environment: The Kedro environment it was read for.

    Returns:
        The grid.

    Raises:
        GridError: Naming the file and the offending entry.
    """
    block = parameters.get("grid")
    if not isinstance(block, Mapping):
        raise GridError(f"{source}: no 'grid' block (text, image, members)")
    if "headline" in block:
        raise GridError(
            f"{source}: grid.headline is no longer read: the headline text, image and "
            "decision_fusion rows are now chosen by validation macro-F1 (the text variant, image "
            "variant and member that score best; data/08_reporting/headline_choice.json says "
            "which). Delete the headline key."
        )
    where = _Where(source)
    text = tuple(
        TextVariant(
            name,
            _choice(entry, "kind", TEXT_KINDS, where.at("text", i)),
            _choice(entry, "training_ids", tuple(TRAINING_IDS), where.at("text", i)),
        )
        for i, (name, entry) in enumerate(where.entries(block, "text", "text_"))
    )
    image = tuple(
        ImageVariant(
            name,
            _choice(entry, "training_ids", tuple(TRAINING_IDS), where.at("image", i)),
            _flag(entry, "dcl", where.at("image", i)),
        )
        for i, (name, entry) in enumerate(where.entries(block, "image", "image_"))
    )
    networks = (parameters.get("fusion") or {}).get("networks") or {}
    members = tuple(
        _member(entry, text, image, networks, where.at("members", i))
        for i, (_, entry) in enumerate(where.entries(block, "members", ""))
    )
    _check_unique([v.name for v in text] + [v.name for v in image] + [m.name for m in members],
                  source)  # fmt: skip
    grid = Grid(text, image, members, environment)
    if not grid.transformer_members():
        raise GridError(
            f"{source}: no member fuses a transformer text variant: the fusion baselines "
            "(stacking, feature-level fusion) run over the first member that does, as feature "
            "fusion reads the text variant's features, which a TF-IDF variant has not. Add a "
            "member whose text variant has kind: transformer."
        )
    return grid


@dataclass(frozen=True)
class _Where:
    source: str

    def at(self, key: str, index: int) -> str:
        return f"{self.source}: grid.{key}[{index}]"

    def entries(
        self, block: Mapping[str, Any], key: str, prefix: str
    ) -> list[tuple[str, Mapping[str, Any]]]:
        entries = block.get(key)
        if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
            raise GridError(f"{self.source}: grid.{key} must be a non-empty list of entries")
        parsed = []
        for index, entry in enumerate(entries):
            where = self.at(key, index)
            if not isinstance(entry, Mapping) or "name" not in entry:
                raise GridError(f"{where} must be a mapping with a 'name', got {entry!r}")
            name = str(entry["name"])
            if not _NAME.match(name) or name in RESERVED_NAMES:
                raise GridError(
                    f"{where}: {name!r} is not a usable namespace name (letters, digits, "
                    f"underscores; not one of {sorted(RESERVED_NAMES)})"
                )
            if prefix and not name.startswith(prefix):
                raise GridError(f"{where}: {key} variant names start with {prefix!r}: {name!r}")
            if not prefix and name.startswith(("text_", "image_")):
                raise GridError(f"{where}: member names must not start with text_ or image_")
            parsed.append((name, entry))
        return parsed


def _choice(entry: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str) -> str:
    value = entry.get(key)
    if value not in allowed:
        raise GridError(
            f"{where} ({entry.get('name')}): {key} must be one of {allowed}, not {value!r}"
        )
    return str(value)


def _flag(entry: Mapping[str, Any], key: str, where: str) -> bool:
    value = entry.get(key)
    if not isinstance(value, bool):
        raise GridError(
            f"{where} ({entry.get('name')}): {key} must be true or false, not {value!r}"
        )
    return value


def _member(
    entry: Mapping[str, Any],
    text: Sequence[TextVariant],
    image: Sequence[ImageVariant],
    networks: Mapping[str, Any],
    where: str,
) -> EnsembleMember:
    missing = [key for key in ("text", "image", "network") if key not in entry]
    if missing:
        raise GridError(f"{where} ({entry['name']}): missing {missing}")
    member = EnsembleMember(*(str(entry[key]) for key in ("name", "text", "image", "network")))
    checks = (
        ("text", member.text, [variant.name for variant in text]),
        ("image", member.image, [variant.name for variant in image]),
        ("network", member.network, sorted(networks)),
    )
    for key, value, known in checks:
        if value not in known:
            declared = "fusion.networks" if key == "network" else f"grid.{key}"
            raise GridError(
                f"{where} ({member.name}) names {key} {value!r}, which is not declared in "
                f"{declared}: {known}"
            )
    return member


def _check_unique(names: list[str], source: str) -> None:
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise GridError(f"{source}: grid names must be unique namespaces, duplicated: {duplicated}")


# ---------------------------------------------------------------------------------------------
# Reading the grid of an environment


def grid_environment() -> str:
    """The Kedro environment this process builds its pipelines for.

    The ``--env`` of the Kedro command being run (``kedro run``, ``kedro viz``, and the
    project's ``kedro registry``), else ``KEDRO_ENV`` (also set by ``kedro jupyter --env``
    and by the project's hook when a session is created), else ``local``.
    """
    import click  # noqa: PLC0415 - only the CLI has a context

    context = click.get_current_context(silent=True)
    while context is not None:
        env = context.params.get("env")
        if env:
            return str(env)
        context = context.parent
    return os.environ.get("KEDRO_ENV") or "local"


def load_grid(env: str | None = None, conf_source: str | Path | None = None) -> Grid:
    """Reads and validates the grid of ``env`` (base merged with the environment).

    Args:
        env: The Kedro environment (default :func:`grid_environment`).
        conf_source: The configuration folder (default ``<cwd>/conf``).

    Returns:
        The grid.

    Raises:
        GridError: When it is inconsistent (naming the file and entry).
        FileNotFoundError: When there is no configuration folder.
    """
    from rakuten_kedro.settings import (  # noqa: PLC0415 - the session's loader; imports light
        CONFIG_LOADER_ARGS,
        CONFIG_LOADER_CLASS,
    )

    env = env or grid_environment()
    conf = Path(conf_source) if conf_source else Path.cwd() / "conf"
    if not conf.is_dir():
        raise FileNotFoundError(
            f"no configuration folder {conf}: run from the project root (the grid of variants "
            "and members is read from conf/<env>/parameters_grid.yml)"
        )
    loader = CONFIG_LOADER_CLASS(str(conf), env=env, **CONFIG_LOADER_ARGS)
    files = [str(conf / part / GRID_FILE) for part in (CONFIG_LOADER_ARGS["base_env"], env)]
    source = " + ".join(path for path in files if Path(path).is_file()) or GRID_FILE
    return parse_grid(loader["parameters"], source, env)


def pipeline_matches_grid(pipeline: Any, grid: Grid) -> bool:
    """Whether ``pipeline`` was built from ``grid`` (see :func:`check_pipeline_matches_grid`)."""
    try:
        check_pipeline_matches_grid(pipeline, grid)
    except GridError:
        return False
    return True


def check_pipeline_matches_grid(pipeline: Any, grid: Grid) -> None:
    """Stops a run whose pipeline was built from another grid than the run's environment's.

    Every variant or member namespace of the pipeline must be declared by the grid, and the
    ensemble's vote (when the pipeline has it) must count exactly the grid's members: a
    pipeline built for ``local`` and run with ``--env rakuten`` would otherwise vote 5 members
    instead of 12, silently.

    Raises:
        GridError: Naming what differs and how to build the right pipeline.
    """
    declared = set().union(*grid.namespaces().values())
    present = {node.namespace.split(".")[0] for node in pipeline.nodes if node.namespace}
    unknown = sorted(present - declared - RESERVED_NAMES)
    voted = [
        sorted(name.split(".")[0] for name in node.inputs if name.endswith(".val_probs"))
        for node in pipeline.nodes
        if node.name == "ensemble.vote_validation_node"
    ]
    members = sorted(member.name for member in grid.members)
    if unknown or (voted and voted[0] != members):
        what = f"namespaces {unknown}" if unknown else f"an ensemble of {voted[0]}"
        raise GridError(
            f"the pipeline being run was built from another experiment grid than environment "
            f"{grid.environment!r} declares ({what}; declared members: {members}). Build the "
            f"pipelines for that environment: set KEDRO_ENV={grid.environment}, or use "
            f"kedro run --env {grid.environment}."
        )
