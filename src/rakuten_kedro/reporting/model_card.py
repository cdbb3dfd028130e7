"""The model card every training run writes (``data/08_reporting/model_card.md``).

Who gave the model its data and how much, what the method is and how it was configured, how well
each method and each class did, what denoising removed, how long the image training took and on
what hardware, and what the model is for and not for: the page to hand over with the model.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rakuten_kedro.codes import PRDTYPECODE_NAMES
from rakuten_kedro.config import Ensemble, ModelCard
from rakuten_kedro.reporting.headline import best_validated_method
from rakuten_kedro.reporting.table import method_columns, results_markdown, results_table
from rakuten_kedro.training.metrics import classification_metrics

#: The card's words for each ``ensemble.rule``.
VOTE_WORDS = {
    "soft": "soft vote of the members: the class with the highest mean probability",
    "majority": "majority vote of the members",
}


def _fusion_decisions(prior_correction: float) -> str:
    if not prior_correction:
        return "Fusion decisions: each network's most probable class (the paper's)."
    return (
        "Fusion decisions: each class probability divided by the class's training frequency "
        f"to the power {prior_correction:g} (`fusion.decisions.prior_correction`), so that rare "
        "classes are not handed to frequent ones (macro-F1 weighs every class alike)."
    )


INTENDED_USE = (
    "Suggest the Rakuten France product type code (27 codes) of a new listing from its title, "
    "description and photo, with the top-3 codes and their probabilities. Low-confidence "
    "answers (`low_confidence`) and text-only answers (`answered_from: text_only`, photo "
    "missing or unreadable) deserve a human look."
)
LIMITS = (
    "- Scores are macro-F1 on the validation split of the data named above (fusion and "
    "ensemble out-of-fold), not on unseen sellers or later listings.\n"
    "- Trained on French listings of the Rakuten catalogue; other languages, marketplaces or "
    "codes are out of scope (a code outside the 27 is never predicted).\n"
    "- On the generated demo data the figures only show the method runs; they say nothing "
    "about real products.\n"
    "- Probabilities are not calibrated."
)


def hardware() -> str:
    """The device the run trained on, in words."""
    import torch  # noqa: PLC0415  (keep this module light)

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} × {torch.cuda.get_device_name(0)}"
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} threads)"


def _class_counts(products: pd.DataFrame) -> str:
    counts = products.groupby("prdtypecode").size().sort_values(ascending=False)
    shown = ", ".join(f"{code}: {count}" for code, count in counts.items())
    return f"{len(counts)} codes; rows per code, most first: {shown}"


def _worst_classes(
    validation_predictions: pd.DataFrame, method: str, codes: Sequence[int], worst: int
) -> list[str]:
    metrics = classification_metrics(
        validation_predictions["label"].to_numpy(),
        validation_predictions[method].to_numpy(),
        list(codes),
    )
    per_class = sorted(metrics["per_class_f1"].items(), key=lambda item: item[1])[:worst]
    return [
        f"| {code} | {PRDTYPECODE_NAMES.get(int(code), '')} | {100 * f1:.1f} |"
        for code, f1 in per_class
    ]


def _image_seconds(image_metrics: Mapping[str, Mapping[str, Any]]) -> float:
    return sum(
        float(stage.get("seconds", 0.0))
        for metrics in image_metrics.values()
        for stage in (metrics.get("training") or {}).values()
    )


#: What cleanlab ranked, by ``denoising.probabilities`` (recorded in the denoising metrics).
RANKED_PROBABILITIES = {
    "image": "the image models' out-of-fold probabilities (`denoising.probabilities: image`)",
    "image_and_text": (
        "the product of the image models' and the TF-IDF model's out-of-fold probabilities, "
        "renormalised (`denoising.probabilities: image_and_text`)"
    ),
}


def _denoising_section(denoising: Mapping[str, Any] | None) -> str:
    if denoising is None:
        return (
            "No denoising in this run: no variant of the grid trains on denoised ids "
            "(`training_ids: denoised`)."
        )
    text = (
        f"cleanlab flagged {denoising.get('n_flagged')} of {denoising.get('n_train')} training "
        f"products; the variants trained on denoised ids drop {denoising.get('n_dropped')} of "
        "them."
    )
    if ranked := RANKED_PROBABILITIES.get(denoising.get("probabilities", "")):
        text += f" cleanlab ranked {ranked}."
    flagged, dropped = denoising.get("flagged") or {}, denoising.get("dropped") or {}
    if "precision" in flagged:
        text += (
            f" Against the known label flips: precision {100 * flagged['precision']:.0f} %, "
            f"recall {100 * flagged['recall']:.0f} %"
        )
        if "precision" in dropped:
            text += (
                f"; of the dropped rows: precision {100 * dropped['precision']:.0f} %, "
                f"recall {100 * dropped['recall']:.0f} %"
            )
        text += "."
    return text


#: The card's words for each headline row of ``results.json``.
HEADLINE_WORDS = {
    "decision_fusion": "decision fusion",
    "text": "text",
    "image": "image",
    "feature_fusion": "feature fusion",
}


def _headline_line(headline_choice: Mapping[str, str]) -> str:
    chosen = ", ".join(
        f"{words} = `{headline_choice[row]}`"
        for row, words in HEADLINE_WORDS.items()
        if row in headline_choice
    )
    return f"Headline rows, chosen by validation macro-F1 (ties: the first declared): {chosen}"


def model_card(  # noqa: PLR0917 - each argument is one section's source
    products: pd.DataFrame,
    results: Mapping[str, Mapping[str, float]],
    headline_choice: Mapping[str, str],
    validation_predictions: pd.DataFrame,
    codes: Sequence[int],
    denoising: Mapping[str, Any] | None,
    grid: Mapping[str, Any],
    options: ModelCard,
    image_metrics: Mapping[str, Mapping[str, Any]],
    ensemble: Ensemble,
    prior_correction: float,
) -> str:
    """The model card as Markdown.

    Args:
        products: The ``products`` table (splits and codes).
        results: ``results.json``.
        headline_choice: Headline row → the method chosen for it by validation macro-F1.
        validation_predictions: Every method's validation predictions (label indices).
        codes: The 27 codes in label order.
        denoising: The denoising metrics (``n_train``, ``n_flagged``, ``n_dropped``, …); None
            when no image variant trains on denoised ids (no denoising ran).
        grid: The ``grid`` parameters (variants, members).
        options: The ``model_card`` parameters.
        image_metrics: Each image variant's metrics (their ``training`` stages' ``seconds``).
        ensemble: The ``ensemble`` parameters (how the members vote).
        prior_correction: ``fusion.decisions.prior_correction`` (how the fusion networks decide).

    Returns:
        The Markdown text.
    """
    splits = products["split"].value_counts()
    best = best_validated_method(results, method_columns(validation_predictions))
    members = "\n".join(
        f"  - `{m['name']}`: `{m['text']}` + `{m['image']}`, network `{m['network']}`"
        for m in grid["members"]
    )
    lines = [
        "# Model card: rakuten_kedro product type classifier",
        "",
        "## Data",
        f"- Source: `{options.data_source}`; {len(products)} labelled products: "
        + ", ".join(f"{count} {split}" for split, count in splits.items()),
        f"- Classes: {_class_counts(products)}",
        "",
        "## Method",
        "Text models and image models (ResNet; DCL and denoising as each image variant says), "
        f"decision-level fusion networks over their probabilities, and a "
        f"{VOTE_WORDS[ensemble.rule]}"
        ". After Bi, Wang, Fan et al. (SIGIR eCom 2020), whose ensemble is a majority vote.",
        "- Text variants: "
        + ", ".join(f"`{v['name']}` ({v['kind']}, {v['training_ids']} ids)" for v in grid["text"]),
        "- Image variants: "
        + ", ".join(
            f"`{v['name']}` ({v['training_ids']} ids, DCL {'on' if v['dcl'] else 'off'})"
            for v in grid["image"]
        ),
        "- Ensemble members:",
        members,
        f"- {_fusion_decisions(prior_correction)}",
        f"- {_headline_line(headline_choice)}",
        "- Every parameter of the run: the MLflow run's parameters, or `conf/<env>/`.",
        "",
        "## Validation scores (%)",
        results_markdown(results_table(results, headline_choice)),
        "",
        f"Worst {options.worst_classes} classes of the best method (`{best}`), F1 %:",
        "",
        "| code | category | F1 |",
        "|---:|---|---:|",
        *_worst_classes(validation_predictions, best, codes, options.worst_classes),
        "",
        "## Denoising",
        _denoising_section(denoising),
        "",
        "## Training",
        f"- Hardware: {hardware()}",
        f"- Image training time (both stages of every image variant): "
        f"{_image_seconds(image_metrics) / 60:.1f} min; the run log and the MLflow run have "
        "every node's time and every epoch's curves.",
        "",
        "## Intended use",
        INTENDED_USE,
        "",
        "## Known limits",
        LIMITS,
        "",
    ]
    return "\n".join(lines)
