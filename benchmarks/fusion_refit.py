"""Refit the fusion stage of stored accuracy-benchmark runs under the project's fusion parameters.

A change that touches only the decision-level fusion networks and the vote (``fusion.*``,
``ensemble.*``; e.g. ``fusion.decisions.prior_correction``) leaves every text and image model of a
``kedro run`` as it was. This refits each configuration's fusion members and ensemble from the
run's stored text and image probabilities (``accuracy.py``'s store) the way the fusion and
ensemble pipelines fit them: the same folds, seeds, networks and vote, in seconds per run
instead of minutes.

* ``check`` refits with the parameters the stored runs were made with (``--params`` over the
  configuration's) and fails unless every member's probabilities and votes and the ensemble's
  answers are bit-identical to the stored ``kedro run`` outputs: the refit *is* the pipeline;
* ``refit`` refits with the current parameters and stores the result as the configuration's
  ``<config>.<member>`` and ``<config>.ensemble``; the outputs it replaces move to
  ``<config>_<--keep-as>.*`` (a configuration of ``accuracy.CONFIGS`` that reproduces them)
  or, without ``--keep-as``, to the seed's ``archive/``.

::

    RAKUTEN_ACCURACY_SCRATCH=… python benchmarks/fusion_refit.py check --configs default \\
        --params fusion.decisions.prior_correction=0.0
    RAKUTEN_ACCURACY_SCRATCH=… python benchmarks/fusion_refit.py refit --configs default \\
        --keep-as no_prior_correction
"""

from __future__ import annotations

import argparse
import shutil
from typing import Any

import numpy as np
import torch
import yaml
from accuracy import (
    CONFIGS,
    Rows,
    RunConfig,
    Setting,
    load_methods,
    load_rows,
    method_path,
    run_folder,
    save_method,
    selected,
    training_seed,
)
from common import parameters

from rakuten_kedro.config import Ensemble, Fusion
from rakuten_kedro.config_loader import merged
from rakuten_kedro.fusion.decision import (
    cross_validate_decision_fusion,
    prior_offset,
    stack_probabilities,
)
from rakuten_kedro.fusion.vote import ensemble_vote, vote_from_probs
from rakuten_kedro.training.cross_validation import CrossValidationResult
from rakuten_kedro.training.folds import assign_folds

torch.set_num_threads(1)


def config_parameters(config: RunConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """The parameters a ``kedro run`` of ``config`` reads, with dotted ``overrides`` on top."""
    values = parameters(config.env or "local")
    for name, text in config.conf:  # a candidate environment overlays conf/base
        values = merged(values, yaml.safe_load(text) if name.startswith("parameters") else {})
    for dotted, value in {**dict(config.params), **overrides}.items():
        *path, last = dotted.split(".")
        block = values
        for part in path:
            block = block[part]
        block[last] = yaml.safe_load(str(value))
    return values


def fusion_folds(val_labels: np.ndarray, fusion: Fusion, seed: int) -> np.ndarray:
    """The validation rows' folds of a run with ``seed`` (``assign_fusion_folds``'s)."""
    return assign_folds(
        val_labels, fusion.cross_validation.n_folds, seed, rows="validation rows",
        setting="fusion.cross_validation.n_folds",
    )  # fmt: skip


def fit_member(
    text: dict[str, np.ndarray], image: dict[str, np.ndarray], val_labels: np.ndarray,
    folds: np.ndarray, *, fusion: Fusion, network: str, seed: int, name: str,
    offset: np.ndarray | None = None,
) -> CrossValidationResult:  # fmt: skip
    """One decision-fusion member fitted on stored text and image ``val_probs``/``test_probs``
    as the fusion pipeline fits it in a run with ``seed`` (``offset``: its prior correction)."""
    return cross_validate_decision_fusion(
        stack_probabilities([text["val_probs"], image["val_probs"]]), val_labels, folds,
        num_classes=text["val_probs"].shape[1], network=fusion.networks[network],
        training=fusion.training.model_copy(update={"seed": seed}),
        epoch_selection=fusion.cross_validation.epoch_selection,
        test_inputs=stack_probabilities([text["test_probs"], image["test_probs"]]),
        name=name, decision_offset=offset,
    )  # fmt: skip


def refit_run(
    rows: Rows, stored: dict[str, dict[str, np.ndarray]], config: str, values: dict[str, Any],
    seed_index: int,
) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """``<config>.<member>`` and ``<config>.ensemble`` arrays of one run, refitted."""
    fusion = Fusion.parse(values["fusion"])
    seed = training_seed(seed_index)  # the run's `--params seed=…`: folds and fold networks
    folds = fusion_folds(rows.val_labels, fusion, seed)
    offset = prior_offset(rows.train_given, len(rows.codes), fusion.decisions.prior_correction)
    out: dict[str, dict[str, np.ndarray]] = {}
    for member in values["grid"]["members"]:
        result = fit_member(
            stored[f"{config}.{member['text']}"], stored[f"{config}.{member['image']}"],
            rows.val_labels, folds, fusion=fusion, network=member["network"], seed=seed,
            name=member["name"], offset=offset,
        )  # fmt: skip
        out[f"{config}.{member['name']}"] = {
            "val_probs": result.oof_probs.astype(np.float32),
            "test_probs": result.test_probs.mean(axis=0),
            "test_pred": vote_from_probs(result.test_probs),
        }
    rule = Ensemble.parse(values["ensemble"]).rule
    members = list(out.values())
    val_probs = np.stack([m["val_probs"] for m in members])
    out[f"{config}.ensemble"] = {
        "val_pred": ensemble_vote(rule, val_probs.argmax(axis=2), val_probs),
        "test_pred": ensemble_vote(
            rule, np.stack([m["test_pred"] for m in members]),
            np.stack([m["test_probs"] for m in members]),
        ),
    }  # fmt: skip
    return out


def differences(refitted: dict[str, dict[str, np.ndarray]], stored: dict[str, Any]) -> list[str]:
    """Every array of ``refitted`` that is not bit-identical to the stored one."""
    return [
        f"{method}.{key}"
        for method, arrays in refitted.items()
        for key, array in arrays.items()
        if method not in stored or not np.array_equal(stored[method].get(key), array)
    ]


def move_aside(setting: Setting, seed_index: int, method: str, keep_as: str | None) -> None:
    """Moves a stored ``<config>.<rest>`` to ``<config>_<keep_as>.<rest>`` or to ``archive/``."""
    path = method_path(setting, seed_index, method)
    if not path.is_file():
        return
    config, rest = method.split(".", 1)
    if keep_as:
        target = method_path(setting, seed_index, f"{config}_{keep_as}.{rest}")
    else:
        target = run_folder(setting, seed_index) / "archive" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise SystemExit(f"{target} exists: refit once per change (or move it away first)")
    shutil.move(path, target)


def check(label: str, refitted: dict[str, Any], stored: dict[str, Any]) -> None:
    """Stops unless the refit reproduced the stored run bit for bit."""
    wrong = differences(refitted, stored)
    if wrong:
        raise SystemExit(f"{label}: not bit-identical to the kedro run: {wrong}")
    print(f"{label}: bit-identical ({len(refitted)} methods)", flush=True)


def store(
    setting: Setting, seed_index: int, config: str, refitted: dict[str, Any],
    stored: dict[str, Any], *, keep_as: str | None,
) -> None:  # fmt: skip
    """Stores the refit as ``<config>.*``; the replaced outputs move aside (:func:`move_aside`)
    and, with ``keep_as``, the methods the refit leaves alone are copied to the kept run too."""
    if keep_as:
        for method in set(stored) - set(refitted):
            if method.startswith(f"{config}."):
                rest = method.split(".", 1)[1]
                save_method(setting, seed_index, f"{config}_{keep_as}.{rest}", **stored[method])
    for method, arrays in refitted.items():
        move_aside(setting, seed_index, method, keep_as)
        save_method(setting, seed_index, method, **arrays)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "refit"])
    parser.add_argument("--configs", required=True, help="comma-separated names of CONFIGS")
    parser.add_argument("--settings", help="comma-separated setting names (default: all stored)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per setting")
    parser.add_argument(
        "--params", default="", help="check: dotted=value,… that the runs were made with"
    )
    parser.add_argument("--keep-as", help="refit: suffix of the configuration keeping the old runs")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.params.split(",") if item)
    for name in args.configs.split(","):
        values = config_parameters(CONFIGS[name], overrides)
        for setting in selected(args.settings):
            rows = load_rows(setting)
            for seed_index in range(args.seeds):
                stored = load_methods(setting, seed_index) if rows else {}
                if f"{name}.ensemble" not in stored:
                    continue
                refitted = refit_run(rows, stored, name, values, seed_index)
                label = f"{setting.name} seed{seed_index} {name}"
                if args.command == "check":
                    check(label, refitted, stored)
                else:
                    store(setting, seed_index, name, refitted, stored, keep_as=args.keep_as)
                    print(f"{label}: refitted ({len(refitted)} methods)", flush=True)


if __name__ == "__main__":
    main()
