"""Scores of ``accuracy.py``: every stored and derived method's test macro-F1 per setting (mean
± sd over training seeds, bootstrap 95 % interval over test rows, paired difference against
the default run's submission), the denoising flags against the recorded flips, and the wall
times; written to ``benchmarks/results/accuracy.json`` and ``accuracy.md``.

Derived methods are recomputed from the stored probabilities every time (they cost nothing):
products of probabilities (parameter-free), log-linear fusions whose weights are chosen on the
validation split, and ensemble rules over the fusion members of the paper configuration
(``--env paper``: ``paper.fusion_*``; its text and image models are the inputs of the products).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import common
import numpy as np
from accuracy import (
    CLEAN_LABEL_SETTINGS,
    CONFIGS,
    RESULTS_DIR,
    SETTING_BY_NAME,
    SETTINGS,
    Rows,
    Setting,
    load_methods,
    load_rows,
    node_seconds,
    read_json,
    run_folder,
    write_json,
)

from rakuten_kedro.fusion.vote import ensemble_vote

N_CLASSES = 27
BOOTSTRAP = 1000
#: The submission of the default ``kedro run`` (issue #14 judges it): every method's difference
#: is paired against it on the same resampled rows.
REFERENCE = "default.ensemble"
#: Weights tried for each further input of a log-linear fusion (the first input has weight 1).
WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: Weights tried by the log-loss criteria: they also set the sharpness, and the first-level
#: models are overconfident, so small weights (high temperatures) are needed too.
NLL_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5)

Method = dict[str, np.ndarray]


# -- derived methods -----------------------------------------------------------------------------


def _log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probs, 1e-6, None))


def product(*methods: Method, powers: Sequence[float] | None = None) -> Method:
    """Product of the inputs' probabilities (sum of log-probabilities), parameter-free unless
    fixed ``powers`` weight the inputs."""
    powers = [1.0] * len(methods) if powers is None else powers
    return {  # log-scores: argmax is all scoring needs
        split: sum(w * _log(m[split]) for w, m in zip(powers, methods, strict=True))
        for split in ("val_probs", "test_probs")
    }


def log_linear(*methods: Method, criterion: str = "f1") -> Method:
    """``Σ w_i log p_i`` with weights picked on the validation split from ``WEIGHT_GRID``.

    ``f1``: ``w_0 = 1``, the others maximise the validation macro-F1 (ties go to the weights
    nearest to the plain product). ``nll``: every weight (``w_0`` too, which sets the
    sharpness) minimises the validation log-loss of the normalised scores, a smoother target
    than the F1 of 300 rows.
    """
    val_labels = _CONTEXT["rows"].val_labels
    logs = [_log(m["val_probs"]) for m in methods]
    grid = WEIGHT_GRID if criterion == "f1" else NLL_GRID
    first = (1.0,) if criterion == "f1" else tuple(w for w in grid if w > 0)
    best: tuple[float, float, tuple[float, ...]] | None = None
    for head in first:
        for weights in itertools.product(grid, repeat=len(methods) - 1):
            full = (head, *weights)
            scores = sum(w * log for w, log in zip(full, logs, strict=True))
            if criterion == "f1":
                fit = macro_f1(val_labels, scores.argmax(1))
            else:
                fit = -log_loss(scores, val_labels)
            key = (fit, -sum(abs(w - 1) for w in full))
            if best is None or key > best[:2]:
                best = (*key, full)
    weights = best[2]
    return {
        split: sum(w * _log(m[split]) for w, m in zip(weights, methods, strict=True))
        for split in ("val_probs", "test_probs")
    } | {"weights": np.asarray(weights)}


def log_loss(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(scores)``."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(labels)), labels]))


def calibrated_product(*methods: Method) -> Method:
    """Product of the inputs' probabilities, each first sharpened or softened by the power
    (1 / temperature) that minimises its own validation log-loss."""
    labels = _CONTEXT["rows"].val_labels
    powers = [
        min(NLL_GRID[1:], key=lambda w, m=m: log_loss(w * _log(m["val_probs"]), labels))
        for m in methods
    ]
    return {
        split: sum(w * _log(m[split]) for w, m in zip(powers, methods, strict=True))
        for split in ("val_probs", "test_probs")
    } | {"weights": np.asarray(powers)}


def predictions(method: Method, split: str) -> np.ndarray | None:
    if f"{split}_pred" in method:
        return method[f"{split}_pred"]
    if f"{split}_probs" in method:
        return method[f"{split}_probs"].argmax(1)
    return None


def members(stored: dict[str, Method]) -> list[str]:
    return sorted(
        name for name in stored if name.startswith("paper.fusion_") and "test_probs" in stored[name]
    )


def majority(stored: dict[str, Method], names: Sequence[str]) -> Method:
    """The members' majority vote with the project's own rule (``ensemble.rule: majority``):
    validation votes are the members' argmax, test votes their fold networks' votes."""
    val = np.stack([stored[name]["val_probs"] for name in names])
    test = np.stack([stored[name]["test_probs"] for name in names])
    test_votes = np.stack([predictions(stored[name], "test") for name in names])
    return {
        "val_pred": ensemble_vote("majority", val.argmax(axis=2), val),
        "test_pred": ensemble_vote("majority", test_votes, test),
    }


def best_by_validation(stored: dict[str, Method], names: Sequence[str]) -> Method:
    """The method among ``names`` with the best validation macro-F1."""
    labels = _CONTEXT["rows"].val_labels
    best = max(names, key=lambda name: macro_f1(labels, predictions(stored[name], "val")))
    return stored[best] | {"chosen": np.asarray(best)}


def soft_vote(
    stored: dict[str, Method], names: Sequence[str], weights: Sequence[float] | None = None
) -> Method:
    weights = np.ones(len(names)) if weights is None else np.asarray(weights)
    return {
        split: sum(w * stored[name][split] for w, name in zip(weights, names, strict=True))
        for split in ("val_probs", "test_probs")
    }


def guarded(member: Method, fallback: Method) -> Method:
    """The member, unless the fallback scores better on the validation split."""
    labels = _CONTEXT["rows"].val_labels
    member_f1 = macro_f1(labels, predictions(member, "val"))
    fallback_f1 = macro_f1(labels, predictions(fallback, "val"))
    return member if member_f1 >= fallback_f1 else fallback


_CONTEXT: dict[str, Any] = {}


def derived_methods(stored: dict[str, Method], rows: Rows) -> dict[str, Method]:
    """Every derived method computable from what is stored for one setting and seed."""
    _CONTEXT["rows"] = rows
    out: dict[str, Method] = {}

    def add(name: str, make: Callable[[], Method], *needs: str) -> None:
        if all(need in stored and "test_probs" in stored[need] for need in needs):
            out[name] = make()

    def add_product(*inputs: str) -> None:
        """The parameter-free product, named after its inputs."""
        names = "+".join(i.removeprefix("paper.").removeprefix("text.") for i in inputs)
        add(f"product:{names}", lambda: product(*(stored[i] for i in inputs)), *inputs)

    texts = ["paper.text_transformer", "paper.text_tfidf"]
    images = ["paper.image_dcl_clean", "paper.image_plain_noisy"] + sorted(
        name for name in stored if name.startswith("image.")
    )
    add("product:transformer+tfidf", lambda: product(*(stored[t] for t in texts)), *texts)
    for image in images:
        short = image.removeprefix("paper.")
        for text in texts:
            add_product(text, image)
            add(
                f"loglinear:{text.removeprefix('paper.')}+{short}",
                lambda t=text, i=image: log_linear(stored[t], stored[i]),
                text,
                image,
            )
        add(
            f"product:transformer+tfidf+{short}",
            lambda i=image: product(*(stored[t] for t in texts), stored[i]),
            *texts,
            image,
        )
        add(
            f"loglinear:transformer+tfidf+{short}",
            lambda i=image: log_linear(*(stored[t] for t in texts), stored[i]),
            *texts,
            image,
        )
        add(
            f"loglinear_nll:transformer+tfidf+{short}",
            lambda i=image: log_linear(*(stored[t] for t in texts), stored[i], criterion="nll"),
            *texts,
            image,
        )
        add(
            f"product_1_1_2:transformer+tfidf+{short}",
            lambda i=image: product(*(stored[t] for t in texts), stored[i], powers=(1, 1, 2)),
            *texts,
            image,
        )
        add(
            f"calibrated:transformer+tfidf+{short}",
            lambda i=image: calibrated_product(*(stored[t] for t in texts), stored[i]),
            *texts,
            image,
        )
    for name in stored:
        if name.startswith("text.tfidf."):
            for image in images:
                add_product(name, image)
                add(
                    f"loglinear:transformer+{name.removeprefix('text.')}+"
                    f"{image.removeprefix('paper.')}",
                    lambda n=name, i=image: log_linear(
                        stored["paper.text_transformer"], stored[n], stored[i]
                    ),
                    "paper.text_transformer",
                    name,
                    image,
                )
    names = members(stored)
    if names:
        out["ensemble:best_member_by_val"] = best_by_validation(stored, names)
        out["ensemble:soft_vote"] = soft_vote(stored, names)
        out["ensemble:majority_vote"] = majority(stored, names)
        val_f1 = [macro_f1(rows.val_labels, predictions(stored[n], "val")) for n in names]
        out["ensemble:soft_vote_val_weighted"] = soft_vote(stored, names, val_f1)
        for name in names:
            parts = _member_inputs(name)
            if parts and all(p in stored for p in parts):
                out[f"guarded:{name.removeprefix('paper.')}"] = guarded(
                    stored[name], product(*(stored[p] for p in parts))
                )
    return out


def _member_inputs(member: str) -> list[str] | None:
    """The text and image variants of a member of the paper configuration, from its name."""
    text = (
        "paper.text_transformer"
        if "_transformer_" in member
        else "paper.text_tfidf"
        if "_tfidf_" in member
        else None
    )
    image = (
        "paper.image_dcl_clean"
        if "_dcl_" in member
        else "paper.image_plain_noisy"
        if "_plain_" in member
        else None
    )
    return [text, image] if text and image else None


# -- scores --------------------------------------------------------------------------------------


def macro_f1(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(bootstrap_f1(labels, preds, np.ones((1, len(labels)), np.float32))[0])


def bootstrap_f1(labels: np.ndarray, preds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Macro-F1 over the 27 classes for each row of ``weights`` (how often each test row is
    drawn in one bootstrap resample), absent classes counting 0 as in ``training.metrics``."""
    eye = np.eye(N_CLASSES, dtype=np.float32)
    true, pred = eye[labels], eye[preds]
    tp = weights @ (true * pred)
    denominator = weights @ true + weights @ pred
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return f1.mean(axis=1)


def score_setting(setting: Setting, seeds: list[int]) -> dict[str, Any] | None:
    """Test and validation macro-F1 of every method of a setting, each over the ``seeds`` it
    ran on (a later seed may run fewer methods: the others keep the seeds they have)."""
    rows = load_rows(setting)
    if rows is None or not seeds:
        return None
    per_seed: dict[int, dict[str, Method]] = {}
    for seed_index in seeds:
        stored = load_methods(setting, seed_index)
        per_seed[seed_index] = {**stored, **derived_methods(stored, rows)}
    rng = np.random.default_rng(0)
    n_test = len(rows.test_labels)
    weights = resampling_weights(n_test, rng)
    val_weights = resampling_weights(len(rows.val_labels), rng)  # the demo's split size
    # name -> seed -> (test macro-F1, its bootstrap resamples): differences pair on both.
    scored: dict[str, dict[int, tuple[float, np.ndarray]]] = {}
    scores = {}
    for name in sorted(set().union(*per_seed.values())):
        ran = {
            s: m[name]
            for s, m in per_seed.items()
            if predictions(m.get(name, {}), "test") is not None
        }
        if not ran:
            continue
        scored[name] = {
            s: (
                macro_f1(rows.test_labels, predictions(method, "test")),
                bootstrap_f1(rows.test_labels, predictions(method, "test"), weights),
            )
            for s, method in ran.items()
        }
        full = [f1 for f1, _ in scored[name].values()]
        entry = {
            "seeds": list(ran),
            "test_macro_f1_mean": round(float(np.mean(full)), 4),
            "test_macro_f1_sd": round(float(np.std(full, ddof=1)), 4) if len(full) > 1 else None,
            "test_macro_f1_per_seed": [round(f, 4) for f in full],
            "test_ci95": _interval(np.mean([b for _, b in scored[name].values()], axis=0)),
        }
        val_preds = [predictions(method, "val") for method in ran.values()]
        if all(p is not None for p in val_preds):
            entry["val_macro_f1_mean"] = round(
                float(np.mean([macro_f1(rows.val_labels, p) for p in val_preds])), 4
            )
            entry["val_ci95"] = _interval(
                np.mean([bootstrap_f1(rows.val_labels, p, val_weights) for p in val_preds], 0)
            )
        for key in ("chosen", "weights"):
            if all(key in method for method in ran.values()):
                entry[key] = [np.asarray(method[key]).tolist() for method in ran.values()]
        scores[name] = entry
    comparisons = {}
    for candidate, baseline in comparison_pairs(list(scored)):
        shared = sorted(set(scored[candidate]) & set(scored[baseline]))
        if shared:
            comparisons[f"{candidate} vs {baseline}"] = _paired(
                [scored[candidate][s] for s in shared], [scored[baseline][s] for s in shared]
            ) | {"seeds": shared}
    return {
        "seeds": seeds, "n_test": n_test, "n_val": len(rows.val_labels), "methods": scores,
        "paired_differences": comparisons,
    }  # fmt: skip


def resampling_weights(n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """How often each row is drawn in each of ``BOOTSTRAP`` resamples."""
    return rng.multinomial(n_rows, np.full(n_rows, 1 / n_rows), size=BOOTSTRAP).astype(np.float32)


def _interval(samples: np.ndarray) -> list[float]:
    return [round(float(q), 4) for q in np.percentile(samples, [2.5, 97.5])]


def _paired(
    candidate: list[tuple[float, np.ndarray]], baseline: list[tuple[float, np.ndarray]]
) -> dict[str, Any]:
    """Mean difference over the shared seeds and its bootstrap interval (same resamples)."""
    mean = np.mean([c[0] - b[0] for c, b in zip(candidate, baseline, strict=True)])
    resampled = np.mean([c[1] - b[1] for c, b in zip(candidate, baseline, strict=True)], axis=0)
    return {"mean": round(float(mean), 4), "ci95": _interval(resampled)}


def comparison_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(candidate, baseline) pairs whose paired difference answers a question of the issue:
    every method against the default run's submission; each fusion member of the paper
    configuration against the product of its inputs; each image recipe against the paper
    configuration's plain image model, alone and fused."""
    present = set(names)
    pairs = [(name, REFERENCE) for name in names if name != REFERENCE]
    pairs += KEY_DIFFERENCES.values()
    for name in names:
        if name.startswith("paper.fusion_") and (parts := _member_inputs(name)):
            text, image = (p.removeprefix("paper.") for p in parts)
            pairs.append((name, f"product:{text}+{image}"))
        if name.startswith(("image.", "corner.")):
            pairs.append((name, "paper.image_plain_noisy"))
            for fused in ("product:text_tfidf+{}", "loglinear:transformer+tfidf+{}"):
                pairs.append((fused.format(name), fused.format("image_plain_noisy")))
        if name.startswith("text.tfidf."):
            pairs.append((name, "paper.text_tfidf"))
    return [(a, b) for a, b in dict.fromkeys(pairs) if a in present and b in present]


def finished_seeds(setting: Setting) -> list[int]:
    """Seed indices whose default run (``REFERENCE``) is stored."""
    root = run_folder(setting, 0).parent
    return sorted(
        int(p.name.removeprefix("seed"))
        for p in root.glob("seed*")
        if (p / "methods" / f"{REFERENCE}.npz").is_file()
    )


def timings(setting: Setting, seeds: list[int]) -> dict[str, Any]:
    """Mean wall seconds of every timed run of a setting (each ``kedro run`` split by pipeline)."""
    collected: dict[str, list[float]] = {}
    for seed_index in seeds:
        for name, entry in (
            read_json(run_folder(setting, seed_index) / "timings.json", {})
        ).items():
            collected.setdefault(name, []).append(entry["wall_s"])
            collected.setdefault(f"{name} (load average at its end)", []).append(
                entry["load_average_at_end"][0]
            )
            log_path = run_folder(setting, seed_index) / f"{name}.log"
            nodes = node_seconds(log_path.read_text()) if log_path.is_file() else {}
            for group, seconds in pipeline_seconds(nodes).items():
                collected.setdefault(f"{name} / {group}", []).append(seconds)
    return {name: round(float(np.mean(values)), 1) for name, values in sorted(collected.items())}


def pipeline_seconds(nodes: dict[str, float]) -> dict[str, float]:
    """Node seconds summed by what they belong to (namespace, or pipeline for the rest)."""
    groups: dict[str, float] = {}
    for node, seconds in nodes.items():
        namespace = node.split(".", 1)[0] if "." in node else ""
        if namespace.startswith(("fusion_", "feature_fusion_")):
            group = "fusion members" if namespace.startswith("fusion_") else "feature fusion"
        elif namespace:
            group = namespace
        elif any(
            word in node
            for word in ("denois", "label_issues", "cross_validate_image", "cross_validate_text")
        ):
            group = "denoising"
        else:
            group = "other (preprocessing, stacking, ensemble, reporting)"
        groups[group] = round(groups.get(group, 0.0) + seconds, 1)
    return groups


#: (method on a clean-label twin, method on its source setting): the default run's parts without
#: denoising on both (what the flips cost each), then the twin's submission against the
#: default's (with denoising) on the flipped labels (what denoising wins back).
CLEAN_LABEL_PAIRS: tuple[tuple[str, str], ...] = (
    *((f"default_all_rows.{part}",) * 2 for part in (
        "ensemble", "fusion_transformer_plain_2layer", "fusion_tfidf_plain_1layer",
        "text_transformer", "text_tfidf", "image_plain_noisy",
    )),
    ("default_all_rows.ensemble", "default.ensemble"),
)  # fmt: skip


def source_setting(clean: Setting) -> Setting:
    return SETTING_BY_NAME[clean.name.removesuffix("_clean_labels")]


def _stored_seeds(setting: Setting) -> list[int]:
    return sorted(
        int(p.name.removeprefix("seed")) for p in run_folder(setting, 0).parent.glob("seed*")
    )


def clean_label_differences(clean: Setting) -> dict[str, Any]:
    """Each pair of ``CLEAN_LABEL_PAIRS``: the method on a clean-label twin minus the method on
    its source setting, paired on the seeds both ran and on the same resampled test rows (the
    twin has the source's products and test rows; only the training labels differ)."""
    source = source_setting(clean)
    clean_rows, source_rows = load_rows(clean), load_rows(source)
    if clean_rows is None or source_rows is None:
        return {}
    if not np.array_equal(clean_rows.test_row_ids, source_rows.test_row_ids) or not (
        np.array_equal(clean_rows.test_labels, source_rows.test_labels)
    ):
        raise ValueError(f"{clean.name}: its test rows are not {source.name}'s")
    labels = source_rows.test_labels
    weights = resampling_weights(len(labels), np.random.default_rng(0))
    seeds = sorted(set(_stored_seeds(clean)) & set(_stored_seeds(source)))
    runs = {
        setting.name: {s: load_methods(setting, s) for s in seeds} for setting in (clean, source)
    }

    def scored(setting: str, method: str, seed: int) -> tuple[float, np.ndarray] | None:
        pred = predictions(runs[setting][seed].get(method, {}), "test")
        return (
            None if pred is None else (macro_f1(labels, pred), bootstrap_f1(labels, pred, weights))
        )

    out: dict[str, Any] = {"source": source.name, "pairs": []}
    for clean_method, source_method in CLEAN_LABEL_PAIRS:
        pairs = [
            (scored(clean.name, clean_method, s), scored(source.name, source_method, s))
            for s in seeds
        ]
        both = {
            s: (c, g)
            for s, (c, g) in zip(seeds, pairs, strict=True)
            if c is not None and g is not None
        }
        if both:
            clean_scores, given_scores = zip(*both.values(), strict=True)
            out["pairs"].append({
                "clean_method": clean_method, "source_method": source_method,
                "clean": round(float(np.mean([f for f, _ in clean_scores])), 4),
                "given": round(float(np.mean([f for f, _ in given_scores])), 4),
                "difference": _paired(clean_scores, given_scores) | {"seeds": list(both)},
            })  # fmt: skip
    return out if out["pairs"] else {}


def denoising_scores(setting: Setting, seeds: list[int]) -> dict[str, Any]:
    """Mean precision / recall of the flagged and dropped rows of every denoising variant."""
    reports = [r for s in seeds if (r := read_json(run_folder(setting, s) / "denoising.json"))]
    if not reports:
        return {}
    out: dict[str, Any] = {"flip_rate": reports[0]["flip_rate"], "seeds": len(reports)}
    for variant, value in reports[0].items():
        if isinstance(value, dict):
            out[variant] = {
                kind: {
                    metric: round(float(np.mean([r[variant][kind][metric] for r in reports])), 3)
                    for metric in ("n", "precision", "recall")
                }
                for kind in ("flagged", "dropped")
            }
    return out


def report(readme: Path | None) -> dict[str, Any]:
    """Score every setting and write ``results/accuracy.json``, ``results/accuracy.md`` and the
    README's two tables (``readme``; None: leave it alone)."""
    result: dict[str, Any] = {
        "measured_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {},
    }
    for setting in SETTINGS:
        seeds = finished_seeds(setting)
        scored = score_setting(setting, seeds)
        if scored is None:
            continue
        result["settings"][setting.name] = {
            "role": setting.role,
            "generator": {
                k: v for k, v in setting.generator_arguments().items() if k != "difficulty"
            }
            | {"difficulty": setting.difficulty.__dict__},
            **scored,
            "denoising": denoising_scores(setting, seeds),
            "wall_seconds": timings(setting, seeds),
        }
    result["clean_labels"] = {
        clean.name: compared
        for clean in CLEAN_LABEL_SETTINGS
        if (compared := clean_label_differences(clean))
    }
    write_json(RESULTS_DIR / "accuracy.json", result)
    (RESULTS_DIR / "accuracy.md").write_text(markdown(result), encoding="utf-8")
    if readme is not None:
        common.replace_readme_block(readme, "accuracy", "\n".join(readme_tables(result)))
    print(markdown(result))
    return result


def readme_tables(result: dict[str, Any]) -> list[str]:
    """The headline methods on every setting, held-out last, and the key paired differences."""
    return [
        *method_table(result, HEADLINE_METHODS, ["tuning", "held_out"]), "",
        "Paired differences on the same test rows (points, [bootstrap 95 % interval]):", "",
        *difference_table(result, KEY_DIFFERENCES),
    ]  # fmt: skip


# -- markdown ------------------------------------------------------------------------------------

#: The methods of the main table, in order, with what they are. The rows after the paper
#: configuration's submission are its parts (``paper.*``) and the ensemble rules over its
#: five members, then the reference baseline.
HEADLINE_METHODS: dict[str, str] = {
    "default.ensemble": "**default run** (`kedro run`, `make demo`: 4 members: the transformer "
    "and the TF-IDF model, each trained on every row and on the rows fused denoising keeps, over "
    "one image model on the kept rows, no DCL; fusion decisions divided by the class prior)",
    "default_two_members.ensemble": "the same with its two text models on every row only (2 "
    "members, the default before)",
    "default_no_prior_correction.ensemble": "that 2-member run with the fusions' plain decisions "
    "(`fusion.decisions.prior_correction: 0`)",
    "default_all_rows.ensemble": "that 2-member run with its image model on every row (no "
    "denoising)",
    "default_text_denoised.ensemble": "candidate: 2 members whose text models learn only from "
    "the kept rows, a flagged row dropped only at a prior-corrected margin ≥ 6 "
    "(`denoising.drop_margin: 6`)",
    "default_text_denoised.text_transformer": "its text: transformer on the kept rows",
    "default_text_denoised.text_tfidf": "its text: TF-IDF on the kept rows",
    "default_text_denoised.image_plain_clean": "its image model on the kept rows",
    "quality.ensemble": "**quality preset** (`--env quality`: the default × 3 seeds, 12 members)",
    "quality_two_members.ensemble": "the quality preset before (the 2-member default × 3 seeds)",
    "paper.ensemble": "**paper's components at CPU scale** (`--env paper`: soft vote of 5 members)",
    "paper_fused_denoising.ensemble": "the same with fused denoising (`denoising.probabilities:"
    " image_and_text`, every flagged row dropped)",
    "ensemble:majority_vote": "its members' majority vote (the paper's rule)",
    "ensemble:best_member_by_val": "its member with the best validation score",
    "paper.fusion_transformer_dcl_2layer": "its 2-layer member (transformer, DCL image)",
    "product:text_transformer+image_dcl_clean": "that member's parameter-free product",
    "paper.stacking_logreg": "stacking (logistic regression)",
    "paper.text_transformer": "text: transformer",
    "paper.text_tfidf": "text: TF-IDF",
    "default.text_transformer_denoised": "text: transformer on the rows denoising keeps (the "
    "default run's second transformer)",
    "default.text_tfidf_denoised": "text: TF-IDF on the rows denoising keeps (the default "
    "run's second TF-IDF)",
    "paper.image_dcl_clean": "image: DCL on denoised rows (2 stages)",
    "paper_fused_denoising.image_dcl_clean": "image: DCL on the rows fused denoising keeps",
    "paper.image_plain_noisy": "image: plain on all rows (2 stages)",
    "default.image_plain_clean": "image: plain on the rows denoising keeps, stage 1 only (the "
    "default run's)",
    "default_all_rows.image_plain_noisy": "image: plain on all rows, stage 1 only",
    "image.resnet18_64px_e12": "image: plain ResNet18 64 px, 12 epochs (reference)",
    "product:text_tfidf+image.resnet18_64px_e12": "**reference: TF-IDF × plain ResNet18 64 px**",
}


def _seeds_note(entry: dict[str, Any], n_seeds: int) -> str:
    """Marks a figure over fewer seeds than its setting ran."""
    return f" ({len(entry['seeds'])} of {n_seeds} seeds)" if len(entry["seeds"]) < n_seeds else ""


def _cell(entry: dict[str, Any] | None, n_seeds: int) -> str:
    if entry is None:
        return "–"
    sd = entry.get("test_macro_f1_sd")
    low, high = entry["test_ci95"]
    spread = f" ± {100 * sd:.1f}" if sd is not None else ""
    return (
        f"{100 * entry['test_macro_f1_mean']:.1f}{spread} [{100 * low:.1f}, {100 * high:.1f}]"
        + _seeds_note(entry, n_seeds)
    )


def _seeds_label(setting: dict[str, Any]) -> str:
    seeds = len(setting["seeds"])
    held_out = "held out, " if setting["role"] == "held_out" else ""
    return f"{held_out}{seeds} seed{'s' if seeds > 1 else ''}"


def method_table(
    result: dict[str, Any], methods: dict[str, str], roles: Sequence[str]
) -> list[str]:
    settings = [(n, s) for n, s in result["settings"].items() if s["role"] in roles]
    if not settings:
        return []
    head = "| method | " + " | ".join(f"{n} ({_seeds_label(s)})" for n, s in settings) + " |"
    lines = [head, "|---" * (len(settings) + 1) + "|"]
    for name, label in methods.items():
        cells = [_cell(s["methods"].get(name), len(s["seeds"])) for _, s in settings]
        if any(c != "–" for c in cells):
            lines.append(f"| {label} (`{name}`) | " + " | ".join(cells) + " |")
    return lines


def _difference(entry: dict[str, Any] | None, n_seeds: int) -> str:
    if entry is None:
        return "–"
    low, high = entry["ci95"]
    return f"{100 * entry['mean']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]" + _seeds_note(
        entry, n_seeds
    )


def difference_table(result: dict[str, Any], pairs: dict[str, tuple[str, str]]) -> list[str]:
    """Paired test macro-F1 differences (points) per setting, held-out last."""
    settings = sorted(
        ((n, s) for n, s in result["settings"].items() if s["role"] != "diagnostic"),
        key=lambda item: item[1]["role"] == "held_out",
    )
    head = "| change | " + " | ".join(name for name, _ in settings) + " |"
    lines = [head, "|---" * (len(settings) + 1) + "|"]
    for label, (candidate, baseline) in pairs.items():
        key = f"{candidate} vs {baseline}"
        cells = [
            _difference(s["paired_differences"].get(key), len(s["seeds"])) for _, s in settings
        ]
        if any(c != "–" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def image_table(result: dict[str, Any]) -> list[str]:
    """Every image model alone and fused, with its training wall time, tuning settings only."""
    settings = [(n, s) for n, s in result["settings"].items() if s["role"] == "tuning"]
    names = sorted(
        {m for _, s in settings for m in s["methods"] if m.startswith(("image.", "corner."))}
        | {"paper.image_dcl_clean", "paper.image_plain_noisy"}
    )
    lines = ["| image model | alone | × TF-IDF | log-linear with both texts | wall s (loaded) |",
             "|---|---|---|---|---:|"]  # fmt: skip
    for name in names:
        short = name.removeprefix("paper.")
        cells = []
        for method in (name, f"product:text_tfidf+{short}", f"loglinear:transformer+tfidf+{short}"):
            values = [
                s["methods"][method]["test_macro_f1_mean"]
                for _, s in settings
                if method in s["methods"]
            ]
            cells.append(f"{100 * np.mean(values):.1f} ({len(values)})" if values else "–")
        walls = [s["wall_seconds"][name] for _, s in settings if name in s["wall_seconds"]]
        wall = f"{np.mean(walls):.0f}" if walls else "(in the paper run)"
        lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {wall} |")
    return lines


def clean_label_table(result: dict[str, Any]) -> list[str]:
    lines = ["| setting | no label flipped | given (flipped) labels | no flip | given | "
             "difference |", "|---|---|---|---:|---:|---|"]  # fmt: skip
    for entry in result.get("clean_labels", {}).values():
        for pair in entry["pairs"]:
            seeds = len(pair["difference"]["seeds"])
            difference = _difference(pair["difference"], seeds)
            lines.append(
                f"| {entry['source']} ({seeds} seeds) | `{pair['clean_method']}` | "
                f"`{pair['source_method']}` | {100 * pair['clean']:.1f} | "
                f"{100 * pair['given']:.1f} | {difference} |"
            )
    return lines


def denoising_table(result: dict[str, Any]) -> list[str]:
    lines = ["| setting | variant | flagged: n, precision, recall | dropped: n, precision, "
             "recall |", "|---|---|---|---|"]  # fmt: skip
    for name, setting in result["settings"].items():
        scores = setting.get("denoising") or {}
        for variant, value in scores.items():
            if isinstance(value, dict):
                flagged, dropped = value["flagged"], value["dropped"]
                lines.append(
                    f"| {name} (flips {100 * scores['flip_rate']:.0f} %) | {variant} | "
                    f"{flagged['n']:.0f}, {flagged['precision']:.2f}, {flagged['recall']:.2f} | "
                    f"{dropped['n']:.0f}, {dropped['precision']:.2f}, {dropped['recall']:.2f} |"
                )
    return lines


def wall_table(result: dict[str, Any]) -> list[str]:
    lines = ["| setting | run / part | wall s (mean over seeds) |", "|---|---|---:|"]
    for name, setting in result["settings"].items():
        for part, seconds in setting["wall_seconds"].items():
            if part.startswith(tuple(CONFIGS)):
                lines.append(f"| {name} | {part} | {seconds:.1f} |")
    return lines


#: The paired comparisons shown in the report: label -> (candidate, baseline). "paper:" rows
#: compare the parts and ensemble rules of ``--env paper`` (its five members).
KEY_DIFFERENCES: dict[str, tuple[str, str]] = {
    "default run vs the paper's components (`--env paper`)": (REFERENCE, "paper.ensemble"),
    "quality preset vs default run": ("quality.ensemble", REFERENCE),
    "default run (4 members) vs its two members with text on every row (the default before)": (
        REFERENCE, "default_two_members.ensemble"),
    "quality preset vs the quality preset before (2-member default × 3 seeds)": (
        "quality.ensemble", "quality_two_members.ensemble"),
    "2-member default vs the same with the fusions' plain decisions (no prior correction)": (
        "default_two_members.ensemble", "default_no_prior_correction.ensemble"),
    "2-member default vs the same with its image model on every row (no denoising)": (
        "default_two_members.ensemble", "default_all_rows.ensemble"),
    "candidate: 2 members, text only on the kept rows, drop margin 6, vs the 2-member default": (
        "default_text_denoised.ensemble", "default_two_members.ensemble"),
    "  … its transformer vs the one on every row": (
        "default_text_denoised.text_transformer", "default_two_members.text_transformer"),
    "  … its TF-IDF vs the one on every row": (
        "default_text_denoised.text_tfidf", "default_two_members.text_tfidf"),
    "  … its image model (more rows kept) vs the 2-member default's": (
        "default_text_denoised.image_plain_clean", "default_two_members.image_plain_clean"),
    "reference (TF-IDF × plain ResNet18 64 px) vs default run": (
        "product:text_tfidf+image.resnet18_64px_e12", REFERENCE),
    "reference (TF-IDF × plain ResNet18 64 px) vs the paper's components": (
        "product:text_tfidf+image.resnet18_64px_e12", "paper.ensemble"),
    "paper: soft vote of the 5 members vs their majority vote": (
        "ensemble:soft_vote", "ensemble:majority_vote"),
    "paper: validation-weighted soft vote vs soft vote": (
        "ensemble:soft_vote_val_weighted", "ensemble:soft_vote"),
    "paper: its submission (soft vote) vs the member with the best validation score": (
        "paper.ensemble", "ensemble:best_member_by_val"),
    "paper: that 2-layer member vs the product of its inputs": (
        "paper.fusion_transformer_dcl_2layer", "product:text_transformer+image_dcl_clean"),
    "paper: 2-layer vs 1-layer fusion net (transformer, DCL image)": (
        "paper.fusion_transformer_dcl_2layer", "paper.fusion_transformer_dcl_1layer"),
    "paper: image: DCL on denoised rows vs plain on all rows": (
        "paper.image_dcl_clean", "paper.image_plain_noisy"),
    "paper: 2-layer member: DCL-denoised image vs plain image (transformer)": (
        "paper.fusion_transformer_dcl_2layer", "paper.fusion_transformer_plain_2layer"),
    "paper: fused denoising, every flag dropped, vs the paper's denoising: submission": (
        "paper_fused_denoising.ensemble", "paper.ensemble"),
    "  … its DCL image model": ("paper_fused_denoising.image_dcl_clean", "paper.image_dcl_clean"),
    "  … its 2-layer member (transformer, DCL image)": (
        "paper_fused_denoising.fusion_transformer_dcl_2layer",
        "paper.fusion_transformer_dcl_2layer"),
    "text: transformer vs TF-IDF": ("paper.text_transformer", "paper.text_tfidf"),
    "paper: log-linear of its transformer, TF-IDF and plain image (weights on validation) vs "
    "its submission": ("loglinear:transformer+tfidf+image_plain_noisy", "paper.ensemble"),
}  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Accuracy benchmark (issue #14)", "",
             "Test macro-F1 (%): mean ± sd over training seeds [bootstrap 95 % interval over the "
             "test rows, of the seed mean]. 3,000 test products per setting. Written by "
             "`python benchmarks/accuracy.py report`; see benchmarks/README.md.", "",
             "## Tuning settings", ""]  # fmt: skip
    lines += method_table(result, HEADLINE_METHODS, ["tuning"])
    lines += ["", "## Held-out setting (never used to choose anything)", ""]
    lines += method_table(result, HEADLINE_METHODS, ["held_out"])
    lines += ["", "## Paired differences (points, [bootstrap 95 % interval])", ""]
    lines += difference_table(result, KEY_DIFFERENCES)
    lines += ["", "## Diagnostic: the same data with no training label flipped", "",
              "Each `*_clean_labels` setting is its source setting with `label_noise: 0` "
              "(same generator seed: the same products, photos and test rows). Test macro-F1 of "
              "a method trained on the true labels and of one trained on the given (flipped) "
              "labels, and their paired difference [bootstrap 95 % interval]: first the default "
              "run's parts without denoising on both (what the flips cost each; what perfect "
              "denoising could win back at most), then the default run with its denoising on "
              "the flipped labels (what is still missing).", ""]  # fmt: skip
    lines += clean_label_table(result)
    lines += ["", "## Image models (tuning settings; mean test macro-F1, (settings))", ""]
    lines += image_table(result)
    lines += ["", "## Denoising against the recorded flips (mean over seeds)", ""]
    lines += denoising_table(result)
    lines += ["", "## Wall times of the `kedro run`s (2 shared cores, 1 thread)", ""]
    lines += wall_table(result)
    lines += ["", "## Every method (all settings)", ""]
    every = sorted(set().union(*(s["methods"] for s in result["settings"].values())))
    lines += method_table(result, {name: name for name in every}, ["tuning", "held_out"])
    return "\n".join(lines) + "\n"
