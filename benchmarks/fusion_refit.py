"""Refit the fusion stage of stored accuracy-benchmark runs under the project's fusion parameters.

A change that touches only the decision-level fusion networks and the vote (``fusion.*``,
``ensemble.*``; e.g. ``fusion.prior_correction``) leaves every text and image model of a
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
        --params fusion.prior_correction=0.0
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
    CLEAN_LABEL_SETTINGS,
    CONFIGS,
    SETTINGS,
    Rows,
    RunConfig,
    Setting,
    load_methods,
    load_rows,
    method_path,
    run_folder,
    save_method,
    training_seed,
)
from common import parameters

from rakuten_kedro.config import Ensemble, Fusion, FusionTraining
from rakuten_kedro.config_loader import merged
from rakuten_kedro.fusion.decision import (
    cross_validate_decision_fusion,
    prior_offset,
    stack_probabilities,
)
from rakuten_kedro.fusion.vote import ensemble_vote, vote_from_probs
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


def refit_run(
    rows: Rows, stored: dict[str, dict[str, np.ndarray]], config: str, values: dict[str, Any],
    seed_index: int,
) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """``<config>.<member>`` and ``<config>.ensemble`` arrays of one run, refitted."""
    fusion = Fusion.parse(values["fusion"])
    seed = training_seed(seed_index)  # the run's `--params seed=…`: folds and fold networks
    folds = assign_folds(
        rows.val_labels, fusion.cross_validation.n_folds, seed, rows="validation rows",
        setting="fusion.cross_validation.n_folds",
    )  # fmt: skip
    offset = prior_offset(rows.train_given, len(rows.codes), fusion.prior_correction)
    training = FusionTraining.parse({**values["fusion"]["training"], "seed": seed})
    out: dict[str, dict[str, np.ndarray]] = {}
    for member in values["grid"]["members"]:
        text, image = stored[f"{config}.{member['text']}"], stored[f"{config}.{member['image']}"]
        result = cross_validate_decision_fusion(
            stack_probabilities([text["val_probs"], image["val_probs"]]), rows.val_labels, folds,
            num_classes=len(rows.codes), network=fusion.networks[member["network"]],
            training=training, epoch_selection=fusion.cross_validation.epoch_selection,
            test_inputs=stack_probabilities([text["test_probs"], image["test_probs"]]),
            name=member["name"], decision_offset=offset,
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
    known = {s.name: s for s in (*SETTINGS, *CLEAN_LABEL_SETTINGS)}
    settings = [known[n] for n in args.settings.split(",")] if args.settings else known.values()
    for name in args.configs.split(","):
        values = config_parameters(CONFIGS[name], overrides)
        for setting in settings:
            rows = load_rows(setting)
            for seed_index in range(args.seeds):
                stored = load_methods(setting, seed_index) if rows else {}
                if f"{name}.ensemble" not in stored:
                    continue
                refitted = refit_run(rows, stored, name, values, seed_index)
                label = f"{setting.name} seed{seed_index} {name}"
                if args.command == "check":
                    wrong = differences(refitted, stored)
                    if wrong:
                        raise SystemExit(f"{label}: not bit-identical to the kedro run: {wrong}")
                    print(f"{label}: bit-identical ({len(refitted)} methods)", flush=True)
                    continue
                if args.keep_as:  # what the refit leaves alone belongs to the kept run too
                    for method in set(stored) - set(refitted):
                        if method.startswith(f"{name}."):
                            rest = method.split(".", 1)[1]
                            save_method(setting, seed_index, f"{name}_{args.keep_as}.{rest}",
                                        **stored[method])  # fmt: skip
                for method, arrays in refitted.items():
                    move_aside(setting, seed_index, method, args.keep_as)
                    save_method(setting, seed_index, method, **arrays)
                print(f"{label}: refitted ({len(refitted)} methods)", flush=True)


if __name__ == "__main__":
    main()
