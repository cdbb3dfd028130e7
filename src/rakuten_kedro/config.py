"""Typed configs: every parameter block, parsed once at the node boundary.

Each block of ``conf/<env>/parameters_*.yml`` has a frozen model here that rejects unknown and
missing keys and wrong types. What a model learns from (sizes, learning rates, epochs, seeds)
has no default in code: ``conf/base`` states it once, with a comment, and ``conf/<env>`` states
only what differs (soft merge). How a run goes (progress bars, data-loader workers, forcing
the CPU, ``torch.compile``, precision) has its default here, once.

Nodes declare the config of each ``params:`` input in their signature and are wrapped by
:func:`parses_params`, which turns the dict Kedro passes into that config; the project hook
:class:`~rakuten_kedro.hooks.ParameterChecksHooks` parses every block a run will read before the
first node, and names the YAML file of a mistyped key.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from typing_extensions import Self

Precision = Literal["auto", "no", "bf16", "fp16"]
#: ``scale_lr``: how the learning rate follows the number of processes (``training.scaled_lr``).
LrScaling = Literal["linear", "none"]
#: ``ensemble.rule``: how the ensemble combines its members (``fusion.vote.ensemble_vote``):
#: ``soft`` picks the class with the highest mean probability, ``majority`` the class most
#: members predict (the paper).
EnsembleRule = Literal["soft", "majority"]
#: The project's seed (``seed`` in conf/base/globals.yml), for code called outside a run:
#: the demo generator's command line, the training loop used from a notebook.
DEFAULT_SEED = 2020


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the parameters: the dotted key and what is wrong with it."""

    key: str
    what: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.key}: {self.what}" + (f"  ({self.where})" if self.where else "")


class ConfigError(ValueError):
    """Parameters that do not fit their configs; the message names each key and what is wrong."""

    def __init__(self, problems: list[Problem], heading: str = "parameters do not fit") -> None:
        self.problems = problems
        super().__init__("\n".join([f"{heading}:", *(f"  {problem}" for problem in problems)]))


class Config(BaseModel):
    """Base of every typed config: frozen, and strict about keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def parse(cls, values: Any, block: str = "") -> Self:
        """``values`` (a parameters mapping, or already this config) as this config.

        Args:
            values: The block as Kedro passes it.
            block: The block's dotted name (``text_transformer.training``), for messages.

        Raises:
            ConfigError: Naming the block, each offending key and what is wrong with it.
        """
        if isinstance(values, cls):
            return values
        try:
            return cls.model_validate(dict(values) if isinstance(values, Mapping) else values)
        except ValidationError as error:
            block = block or cls.__name__
            raise ConfigError(_problems(cls, error, block), f"parameters {block}") from None


def plain_value(value: Any) -> Any:
    """``value`` with every config in it as plain data: Kedro hands a ``params:`` input whose
    node annotates a typed config over as that config, while what is written or tracked
    (``method.json``, MLflow parameters) wants nested dicts and lists."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    return value


def _problems(cls: type[Config], error: ValidationError, block: str) -> list[Problem]:
    problems = []
    for problem in error.errors():
        path = [str(part) for part in problem["loc"]]
        key = ".".join([block, *path])
        if problem["type"] == "extra_forbidden":
            problems.append(Problem(key, f"unknown key{_did_you_mean(cls, path)}"))
        elif problem["type"] == "missing":
            problems.append(Problem(key, "missing key"))
        else:
            problems.append(Problem(key, f"{problem.get('input')!r}: {problem['msg']}"))
    return problems


def closest_name(name: str, names: Any) -> str:
    """`` (did you mean '…'?)`` with the name of ``names`` closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _did_you_mean(cls: type[Config], path: list[str]) -> str:
    model: Any = cls
    for part in path[:-1]:
        field = model.model_fields.get(part) if isinstance(model, type) else None
        model = _config_of(field.annotation) if field else None
        if model is None:
            return ""
    return closest_name(path[-1], model.model_fields)


def _config_of(annotation: Any) -> type[Config] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, Config):
            return candidate
    return None


# ---------------------------------------------------------------------------------------------
# Run settings shared by every trained network


#: Settings that change how a training runs, never what it learns: left out of fingerprints,
#: so changing them keeps a checkpoint valid.
RUN_ONLY_SETTINGS = frozenset({"progress", "num_workers", "eval_batch_size", "cpu", "compile"})


def learned_settings(config: Config) -> dict[str, Any]:
    """The settings of ``config`` that change what is learned (a checkpoint's fingerprint)."""
    return config.model_dump(mode="json", exclude=set(RUN_ONLY_SETTINGS))


class RunSettings(Config):
    """How a training runs (every field but the precision is run-only)."""

    progress: bool = True
    num_workers: int = Field(0, ge=0)
    cpu: bool = False
    compile: bool = False
    mixed_precision: Precision = "auto"
    #: A few batches per epoch of a full-size model (smoke tests, the rehearsal); changes what
    #: is learned, so it is part of a checkpoint's fingerprint.
    max_batches_per_epoch: int | None = Field(None, ge=1)


# ---------------------------------------------------------------------------------------------
# Text models (parameters_text_model.yml)


class ScratchEncoder(Config):
    """Sizes of a CamemBERT-config encoder trained from scratch, with its own tokenizer."""

    vocab_size: int = Field(gt=5)
    min_frequency: int = Field(ge=1)
    hidden_size: int = Field(gt=0)
    num_hidden_layers: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    intermediate_size: int = Field(gt=0)
    hidden_dropout_prob: float = Field(ge=0, lt=1)
    attention_dropout_prob: float = Field(ge=0, lt=1)


class TransformerModel(Config):
    """``<text variant>.model`` of a transformer variant."""

    model_name_or_path: str | None
    max_length: int = Field(gt=4)
    pooling: Literal["pooler", "mean", "cls"]
    dropout: float = Field(ge=0, lt=1)
    from_scratch: ScratchEncoder | None = None

    @model_validator(mode="after")
    def _scratch_sizes_when_from_scratch(self) -> Self:
        if not self.model_name_or_path and self.from_scratch is None:
            raise ValueError("model_name_or_path is null (train from scratch): give from_scratch")
        return self


class TextTraining(RunSettings):
    """``<text variant>.training`` of a transformer variant."""

    #: Learning rate under N processes: AdamW keeps its rate (see ``training.scaled_lr``).
    scale_lr: LrScaling = "none"

    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    eval_batch_size: int | None = Field(None, ge=1)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    warmup_fraction: float = Field(ge=0, le=1)
    patience: int | None = Field(ge=1)
    max_grad_norm: float | None = Field(gt=0)
    seed: int

    @property
    def inference_batch_size(self) -> int:
        """Rows per batch for validation and prediction (twice the training batch unless set)."""
        return self.eval_batch_size or 2 * self.batch_size


class TfidfModel(Config):
    """``<text variant>.model`` of a TF-IDF variant."""

    word_ngram_range: tuple[int, int]
    char_ngram_range: tuple[int, int]
    min_df: int = Field(ge=1)
    max_features: int | None = Field(gt=0)
    classifier: Literal["sgd", "logistic_regression"]
    C: float = Field(gt=0)  # noqa: N815 - scikit-learn's name
    alpha: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    seed: int


# ---------------------------------------------------------------------------------------------
# Image models (parameters_image_model.yml) and denoising (parameters_denoising.yml)


class ResNetModel(Config):
    """``<image variant>.model``: the ResNet and its initial weights."""

    depth: Literal[18, 34, 50, 101, 152]
    weights: str | None = None
    weights_path: str | None = None


class Augment(Config):
    """Random crop, rotation and flip in training; the same centre crop for evaluation."""

    crop_fraction: float = Field(gt=0, le=1)
    rotation_degrees: float = Field(ge=0, le=180)
    hflip: bool


class ImageRun(RunSettings):
    """``<image variant>.run``: precision, seed and gradient clipping of every stage."""

    seed: int
    max_grad_norm: float | None = Field(gt=0)
    #: Learning rate under N processes: SGD's rate × N (see ``training.scaled_lr``).
    scale_lr: LrScaling = "linear"


class LossWeights(Config):
    """DCL's loss: ``w_cls·CE(class) + w_adv·CE(original vs destructed) + w_align·L1``."""

    classification: float = Field(ge=0)
    adversarial: float = Field(ge=0)
    alignment: float = Field(ge=0)


class DCL(Config):
    """Destruction and Construction Learning settings of a stage 2 with DCL."""

    grid: int = Field(ge=2)
    window: int = Field(ge=1)
    head_lr_multiplier: float = Field(gt=0)
    loss_weights: LossWeights


class Stage(Config):
    """One training stage of an image model (SGD with step decay)."""

    cache_size: int = Field(gt=0)
    input_size: int = Field(gt=0)
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=2)
    eval_batch_size: int | None = Field(None, ge=1)
    lr: float = Field(gt=0)
    momentum: float = Field(ge=0, lt=1)
    weight_decay: float = Field(ge=0)
    lr_step_epochs: int = Field(ge=1)
    lr_gamma: float = Field(gt=0, le=1)
    patience: int | None = Field(ge=1)

    @property
    def inference_batch_size(self) -> int:
        """Images per batch for validation and prediction (twice the training batch unless set)."""
        return self.eval_batch_size or 2 * self.batch_size


class SecondStage(Stage):
    """``<image variant>.stage2``: the high-resolution fine-tuning (with DCL per the grid)."""

    enabled: bool = True
    dcl: DCL | None = None


class Denoising(Config):
    """``denoising``: k-fold image models → out-of-fold probabilities → cleanlab.

    ``probabilities`` is what cleanlab ranks: ``image`` (the paper's), or ``image_and_text``:
    the image out-of-fold probabilities times the TF-IDF ones on the same folds, renormalised
    (``vision.denoise.fuse_probabilities``).
    """

    folds: int = Field(ge=2)
    seed: int
    probabilities: Literal["image", "image_and_text"]
    filter_by: str
    ranked_by: str
    drop_fraction: float = Field(ge=0, le=1)
    #: A ranked issue is dropped only when its prior-corrected margin is at least this
    #: (``vision.denoise.prior_corrected_margin``); ``None``: every issue within drop_fraction.
    drop_margin: float | None = Field(ge=0)
    figure_top: int = Field(ge=0)
    model: ResNetModel
    augment: Augment
    train: Stage
    run: ImageRun


# ---------------------------------------------------------------------------------------------
# Fusion and ensemble (parameters_fusion.yml, parameters_ensemble.yml)


class CrossValidation(Config):
    """``fusion.cross_validation``: the folds every fusion shares."""

    n_folds: int = Field(ge=2)
    seed: int
    epoch_selection: Literal["inner", "held_out"]


class FoldNetworkTraining(Config):
    """How the small networks trained out-of-fold on the validation split learn (both fusions)."""

    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    batch_size: int = Field(ge=0)
    seed: int
    cpu: bool = True


class FusionTraining(FoldNetworkTraining):
    """``fusion.training``: the fold networks of every decision-level fusion."""


class FusionNetwork(Config):
    """One entry of ``fusion.networks``: 54→27 (hidden 0) or 54→hidden→27, residual or not."""

    hidden: int = Field(ge=0)
    residual: bool


class Stacking(Config):
    """``fusion.stacking``: the logistic-regression stacking baseline."""

    c: float = Field(gt=0)
    max_iter: int = Field(ge=1)


class FusionDecisions(Config):
    """``fusion.decisions``: how the decision-level fusion networks decide."""

    #: τ: each class probability is divided by the class's training frequency to the power τ
    #: (``fusion.decision.prior_offset``); 0 is the paper's argmax.
    prior_correction: float = Field(ge=0, le=1)


class Fusion(Config):
    """``fusion``."""

    cross_validation: CrossValidation
    training: FusionTraining
    networks: dict[str, FusionNetwork]
    decisions: FusionDecisions
    stacking: Stacking


class FeatureFusion(FoldNetworkTraining):
    """``feature_fusion``: the feature-level fusion baseline over frozen features."""

    proj_dim: int = Field(ge=1)
    hidden: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


class Ensemble(Config):
    """``ensemble``: how the members' answers become the submission."""

    rule: EnsembleRule


# ---------------------------------------------------------------------------------------------
# Preprocessing and predict


class Split(Config):
    """``preprocessing.split``: the stratified train/validation split."""

    validation_fraction: float = Field(gt=0, lt=1)
    seed: int


class ImageCacheSettings(Config):
    """``preprocessing.image_cache``: the sizes decoded once, and what a bad photo does."""

    sizes: list[int] = Field(min_length=1)
    on_bad_image: Literal["error", "placeholder"]


class Preprocessing(Config):
    """``preprocessing``."""

    split: Split
    image_cache: ImageCacheSettings


class Predict(Config):
    """``predict``: classifying new products."""

    input_dir: str | None
    top_k: int = Field(ge=1, le=27)
    low_confidence_below: float = Field(ge=0, le=1)


class ModelCard(Config):
    """``model_card``: the card the reporting pipeline writes."""

    data_source: str
    worst_classes: int = Field(ge=1)


class Tracking(Config):
    """``tracking``: experiment tracking with MLflow (``rakuten_kedro.tracking``)."""

    enabled: bool
    registered_model: str | None


# ---------------------------------------------------------------------------------------------
# The node boundary

Function = TypeVar("Function", bound=Callable[..., Any])


def config_parameters(func: Callable[..., Any]) -> dict[str, type[Config]]:
    """The parameters of ``func`` annotated with a config, by name."""
    unwrapped = inspect.unwrap(func)
    configs = {}
    for name, written in inspect.get_annotations(unwrapped).items():
        annotation = written
        if isinstance(written, str):  # postponed annotations: resolve the ones we can
            try:
                annotation = eval(written, unwrapped.__globals__)  # noqa: S307 - own source
            except Exception:  # noqa: BLE001 - e.g. a name imported for type checking only
                continue
        if (config := _config_of(annotation)) is not None:
            configs[name] = config
    return configs


def parses_params(func: Function) -> Function:
    """Wraps a node function so that each argument annotated with a config is parsed into it.

    Kedro passes parameter blocks as dicts; the node body then works with frozen, validated
    configs whatever runner or test calls it.
    """
    configs = config_parameters(func)
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name, config in configs.items():
            if name in bound.arguments and bound.arguments[name] is not None:
                bound.arguments[name] = config.parse(bound.arguments[name], name)
        return func(*bound.args, **bound.kwargs)

    return typing.cast(Function, wrapper)


# ---------------------------------------------------------------------------------------------
# Checking a whole run's parameters before it starts

#: Top-level parameter blocks besides the grid's variants (one block per namespace), and the
#: run-time values of conf/base/globals.yml that ``--params`` may set (``data.raw_dir=…``,
#: ``seed=7``), which Kedro adds to the parameters.
FIXED_BLOCKS = frozenset(
    {"grid", "preprocessing", "denoising", "fusion", "feature_fusion", "ensemble", "predict",
     "model_card", "tracking", "data", "images", "checkpoints", "demo", "seed"}
)  # fmt: skip


#: Blocks whose nodes read only parts (``params:fusion.training``, …): checked whole as well
#: when a node reads any part, so that a key beside those parts (a typo, a renamed key such as
#: the former ``fusion.prior_correction``) is refused rather than silently ignored.
BLOCKS_READ_IN_PARTS: dict[str, type[Config]] = {"fusion": Fusion, "preprocessing": Preprocessing}


def node_parameters(func: Callable[..., Any], inputs: list[str]) -> dict[str, type[Config]]:
    """The ``params:`` inputs of a node whose function parameter is a config, with it.

    Args:
        func: The node's function (partials and wrappers are followed).
        inputs: The node's input names, in call order.

    Returns:
        ``{"params:<block>": config}``.
    """
    configs = config_parameters(func)
    names = [
        name
        for name, parameter in inspect.signature(func).parameters.items()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    return {
        dataset: configs[name]
        for dataset, name in zip(inputs, names, strict=False)
        if dataset.startswith("params:") and name in configs
    }


def parameter_block(parameters: Mapping[str, Any], dataset: str) -> Any:
    """The value of a ``params:`` dataset (``parameters`` itself for ``"parameters"``)."""
    value: Any = parameters
    if dataset != "parameters":
        for part in dataset.removeprefix("params:").split("."):
            value = value[part]
    return value


def parameter_files(conf_source: str | Path, envs: list[str]) -> list[Path]:
    """The parameters files of ``envs`` under ``conf_source``, in merge order."""
    files: list[Path] = []
    for env in envs:
        folder = Path(conf_source) / env
        files += sorted(folder.glob("parameters*.yml"))
        files += sorted(folder.glob("parameters*/**/*.yml"))
    return files


def where_defined(path: str, files: list[Path]) -> list[str]:
    """The files (of ``files``) whose YAML defines the dotted key ``path``."""
    return [str(file) for file in files if _defines(_read_yaml(file), path.split("."))]


def environments(conf_source: str | Path) -> list[str]:
    """Every configuration environment under ``conf_source`` (a folder with parameters)."""
    folders = sorted(path for path in Path(conf_source).iterdir() if path.is_dir())
    return [folder.name for folder in folders if parameter_files(conf_source, [folder.name])]


def variants_declared_in(files: list[Path]) -> set[str]:
    """The text and image variant names of every ``grid`` in ``files``: read over every
    environment, a variant's block (in conf/base) stays known to the environments whose grid
    leaves that variant out."""
    names: set[str] = set()
    for file in files:
        content = _read_yaml(file)
        grid = content.get("grid") if isinstance(content, Mapping) else None
        if not isinstance(grid, Mapping):
            continue
        for kind in ("text", "image"):
            entries = grid.get(kind)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, Mapping) and "name" in entry:
                    names.add(str(entry["name"]))
    return names


def _read_yaml(file: Path) -> Any:
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def _defines(node: Any, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def check_parameters(
    pipeline: Any,
    load: Callable[[str], Any],
    *,
    blocks: set[str],
    files: list[Path],
    runtime_params: Mapping[str, Any] | None = None,
) -> None:
    """Parses every parameter block ``pipeline``'s nodes read; reports every problem at once.

    Args:
        pipeline: The pipeline about to run.
        load: Loads a ``params:`` dataset (the catalog's ``load``).
        blocks: The top-level blocks the project knows (:data:`FIXED_BLOCKS` and the grid's
            variants); any other top-level key is a typo.
        files: The parameters files of the run's environments (:func:`parameter_files`), to
            name where a key is set.
        runtime_params: The run's ``--params``, to name them as the source.

    Raises:
        ConfigError: Listing each problem with the file (or ``--params``) that sets it.
    """
    problems = [
        Problem(name, f"unknown parameter block{closest_name(name, blocks)}")
        for name in load("parameters")
        if name not in blocks
    ]
    read: set[str] = set()
    for node in pipeline.nodes:
        read |= {name.removeprefix("params:") for name in node.inputs if name.startswith("params:")}
        for dataset, config in node_parameters(node.func, node.inputs).items():
            problems += _parse_problems(config, load, dataset.removeprefix("params:"))
    for block, config in BLOCKS_READ_IN_PARTS.items():
        if any(name.startswith(f"{block}.") for name in read):
            problems += _parse_problems(config, load, block)
    if problems:
        located = [_located(problem, files, runtime_params or {}) for problem in _unique(problems)]
        raise ConfigError(located, "the parameters do not fit what the pipelines read; nothing ran")


def _parse_problems(config: type[Config], load: Callable[[str], Any], block: str) -> list[Problem]:
    """What is wrong with the ``params:<block>`` dataset as ``config`` (nothing: ``[]``)."""
    try:
        config.parse(load(f"params:{block}"), block)
    except ConfigError as error:
        return list(error.problems)
    except (KeyError, TypeError):
        return [Problem(block, "missing parameter block")]
    return []


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _located(problem: Problem, files: list[Path], runtime_params: Mapping[str, Any]) -> Problem:
    if _defines(runtime_params, problem.key.split(".")):
        return Problem(problem.key, problem.what, "--params")
    path = problem.key if problem.what != "missing key" else problem.key.rsplit(".", 1)[0]
    where = where_defined(path, files)
    return Problem(problem.key, problem.what, ", ".join(where) or "no parameters file sets it")
