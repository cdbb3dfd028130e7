"""What ``accuracy.py`` trains or derives besides ``kedro run``: the reference baselines, the
image recipes and denoising variants under test (prototypes of changes, measured here before
they go into the pipelines), and the fusion rules computed from stored probabilities.

Image recipes call the project's own loop (``vision.train.fit_image_classifier`` and
``predict_image_classifier``) on the scratch project's image cache; the only prototype is the
*stem for small inputs*: torchvision's ResNet stem (7×7 stride-2 convolution, then a stride-2
max-pool) divides a 32 px input by 4 before the first block, which leaves a 1×1 map at the
last block. ``small`` replaces the convolution by a 3×3 stride-1 one and keeps the max-pool
(÷2, the cost of the standard stem at twice the side); ``cifar`` drops the max-pool too (÷1).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from accuracy import (
    Rows,
    Setting,
    ensure_project,
    load_rows,
    log,
    method_path,
    read_json,
    record_timing,
    run_folder,
    save_method,
    training_seed,
    write_json,
)
from common import params
from torch import nn

from rakuten_kedro.datasets.image_cache import ImageCacheDataset
from rakuten_kedro.models.image import ResNetClassifier
from rakuten_kedro.text.tfidf import tfidf_out_of_fold, tfidf_probabilities, train_tfidf_classifier
from rakuten_kedro.vision.data import positions_of
from rakuten_kedro.vision.denoise import (
    denoising_folds,
    fuse_probabilities,
    label_issues_table,
    rank_label_issues,
)
from rakuten_kedro.vision.train import fit_image_classifier, predict_image_classifier

torch.set_num_threads(1)  # the machine is shared: one thread is faster than two contended ones

#: The paper configuration's parameters (``--env paper``: conf/paper over conf/base), read as a
#: run reads them: its image model with DCL (two stages), TF-IDF and denoising.
PAPER_IMAGE = params("image_dcl_clean", env="paper")
#: The image augmentation and stage 1 settings the recipes start from (every configuration's).
AUGMENT = PAPER_IMAGE["augment"]
STAGE1 = PAPER_IMAGE["stage1"]
TFIDF = params("text_tfidf.model", env="paper")
DENOISING = params("denoising", env="paper")


@dataclass(frozen=True)
class ImageRecipe:
    """One from-scratch ResNet18 training: input size, stem, epochs and training rows."""

    name: str
    input_size: int
    epochs: int
    stem: str = "standard"  # standard (÷4) | small (3×3 stride 1 + max-pool: ÷2) | cifar (÷1)
    lr: float = 0.01
    training_rows: str = "all"  # all, or a denoising variant's kept rows (its name)

    @property
    def cache_size(self) -> int:
        return 32 if self.input_size <= 32 else 64

    def stage(self) -> dict[str, Any]:
        """The image models' stage 1 settings with this recipe's size, epochs and rate; the rate
        drops tenfold after two thirds of the epochs."""
        return {
            **STAGE1, "cache_size": self.cache_size, "input_size": self.input_size,
            "epochs": self.epochs, "lr": self.lr,
            "lr_step_epochs": max(1, round(self.epochs * 2 / 3)),
        }  # fmt: skip


IMAGE_RECIPES: dict[str, ImageRecipe] = {
    recipe.name: recipe
    for recipe in (
        # The issue's reference baseline.
        ImageRecipe("resnet18_64px_e12", 64, 12),
        ImageRecipe("resnet18_64px_e6", 64, 6),
        ImageRecipe("resnet18_32px_e6", 32, 6),  # the image models' stage 1 alone
        ImageRecipe("resnet18_32px_e12", 32, 12),
        ImageRecipe("small_stem_32px_e6", 32, 6, stem="small"),
        ImageRecipe("small_stem_32px_e12", 32, 12, stem="small"),
        ImageRecipe("small_stem_24px_e8", 24, 8, stem="small"),
        ImageRecipe("cifar_stem_24px_e6", 24, 6, stem="cifar"),
        ImageRecipe("small_stem_32px_e12_lr05", 32, 12, stem="small", lr=0.05),
        ImageRecipe("resnet18_64px_e12_lr05", 64, 12, lr=0.05),
    )
}


def with_stem(model: ResNetClassifier, stem: str) -> ResNetClassifier:
    """Replace the ResNet's stem for small inputs (see the module docstring)."""
    if stem == "standard":
        return model
    if stem not in ("small", "cifar"):
        raise ValueError(f"unknown stem {stem!r}: standard, small or cifar")
    conv = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    model.trunk[0] = conv
    if stem == "cifar":
        model.trunk[3] = nn.Identity()
    return model


def _caches(project: Path) -> tuple[Any, Any]:
    root = project / "data/05_model_input/image_cache"
    return (
        ImageCacheDataset(path=str(root / "labelled")).load(),
        ImageCacheDataset(path=str(root / "test")).load(),
    )


def kept_training_rows(setting: Setting, seed_index: int, rows: Rows, variant: str) -> np.ndarray:
    """Boolean mask over the training rows: all, or those a denoising variant keeps."""
    if variant == "all":
        return np.ones(len(rows.train_row_ids), dtype=bool)
    path = run_folder(setting, seed_index) / "denoising" / f"{variant}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: run the denoising stage first")
    with np.load(path) as arrays:
        return ~arrays["dropped"]


def train_image_recipe(setting: Setting, seed_index: int, recipe: ImageRecipe) -> None:
    """Train one recipe on the setting's cached photos and store its val and test probs."""
    method = f"image.{recipe.name}" + (
        "" if recipe.training_rows == "all" else f".{recipe.training_rows}"
    )
    if method_path(setting, seed_index, method).is_file():
        return
    rows = load_rows(setting)
    if rows is None:
        raise FileNotFoundError(f"{setting.name}: run the whole stage first (no rows stored)")
    labelled, test = _caches(ensure_project(setting))
    keep = kept_training_rows(setting, seed_index, rows, recipe.training_rows)
    seed = training_seed(seed_index)
    run = {"mixed_precision": "no", "seed": seed, "max_grad_norm": None, "progress": False}
    torch.manual_seed(seed)
    model = with_stem(ResNetClassifier(18, len(rows.codes)), recipe.stem)
    images = labelled.images(recipe.cache_size)
    log(f"{setting.name} seed{seed_index} {method}: training ({int(keep.sum())} photos)")
    start = time.perf_counter()
    result = fit_image_classifier(
        model,
        images,
        positions_of(labelled, rows.train_row_ids[keep]),
        rows.train_given[keep],
        val_positions=positions_of(labelled, rows.val_row_ids),
        val_labels=rows.val_labels,
        stage=recipe.stage(),
        augment=AUGMENT,
        run=run,
        name=method,
    )
    fit_seconds = time.perf_counter() - start
    model = result.model.cpu().eval()

    def predict(cache: Any, row_ids: np.ndarray) -> np.ndarray:
        probs, _ = predict_image_classifier(
            model, cache.images(recipe.cache_size), positions_of(cache, row_ids),
            stage=recipe.stage(), augment=AUGMENT, run=run,
        )  # fmt: skip
        return probs

    val_probs = predict(labelled, rows.val_row_ids)
    test_probs = predict(test, rows.test_row_ids)
    seconds = time.perf_counter() - start
    save_method(
        setting, seed_index, method, val_probs=val_probs, test_probs=test_probs, seconds=seconds
    )
    record_timing(
        setting, seed_index, method,
        {"wall_s": round(seconds, 1), "fit_s": round(fit_seconds, 1),
         "best_epoch": result.best_epoch, "recipe": recipe.__dict__},
    )  # fmt: skip
    log(f"{setting.name} seed{seed_index} {method}: {seconds / 60:.1f} min")


def train_image_recipes(setting: Setting, seed_index: int, names: Iterable[str] | None) -> None:
    for name in names or IMAGE_RECIPES:
        train_image_recipe(setting, seed_index, recipe_by_name(name))


def recipe_by_name(name: str) -> ImageRecipe:
    """A recipe, or ``<recipe>@<denoising variant>``: the recipe on that variant's kept rows."""
    base, _, rows = name.partition("@")
    if base not in IMAGE_RECIPES:
        raise SystemExit(f"unknown image recipe {base!r}; known: {sorted(IMAGE_RECIPES)}")
    recipe = IMAGE_RECIPES[base]
    return ImageRecipe(**{**recipe.__dict__, "training_rows": rows or "all"})


# -- denoising -----------------------------------------------------------------------------------


def flag_scores(flagged: np.ndarray, flipped: np.ndarray) -> dict[str, float]:
    """Precision and recall of flagged rows against the generator's recorded flips."""
    hits = int((flagged & flipped).sum())
    return {
        "n": int(flagged.sum()),
        "precision": round(hits / max(int(flagged.sum()), 1), 4),
        "recall": round(hits / max(int(flipped.sum()), 1), 4),
    }


def flags_and_drops(
    train: pd.DataFrame, given: np.ndarray, probs: np.ndarray, codes: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Masks over the training rows of cleanlab's flags on ``probs`` and of the rows dropped
    with ``drop_fraction`` ``fraction``: the denoising node's own calls (``find_label_issues``:
    ``rank_label_issues``, then ``label_issues_table``)."""
    ranked, quality = rank_label_issues(given, probs)
    issues = label_issues_table(train, probs, ranked, quality, codes, drop_fraction=fraction)
    flagged = np.zeros(len(given), dtype=bool)
    flagged[ranked] = True
    dropped = np.zeros(len(given), dtype=bool)
    dropped[ranked[issues["dropped"].to_numpy(dtype=bool)]] = True
    return flagged, dropped


def denoising_experiments(setting: Setting, seed_index: int) -> None:
    """Flags and drops of the paper run's denoising (variant ``paper``: ``--env paper``, the
    one configuration that denoises) and of the variants under test, scored against
    the recorded flips; each variant's dropped rows are kept for the image recipes
    (``<recipe>@<variant>``) and a TF-IDF trained without them is stored as a method."""
    folder = run_folder(setting, seed_index)
    if (folder / "denoising.json").is_file():
        return
    rows = load_rows(setting)
    project = ensure_project(setting)
    products = pd.read_parquet(project / "data/03_primary/products.parquet").set_index("row_id")
    train = products.loc[rows.train_row_ids].reset_index()
    flipped, given = rows.train_flipped, rows.train_given
    seed = training_seed(seed_index)
    report: dict[str, Any] = {"flip_rate": round(float(flipped.mean()), 4)}

    issues = pd.read_csv(folder / "paper" / "label_issues.csv")
    position = pd.Series(np.arange(len(rows.train_row_ids)), index=rows.train_row_ids)
    flagged = np.zeros(len(flipped), dtype=bool)
    flagged[position.loc[issues["row_id"]].to_numpy()] = True
    dropped = np.zeros(len(flipped), dtype=bool)
    dropped[position.loc[issues.loc[issues["dropped"].astype(bool), "row_id"]].to_numpy()] = True
    variants = {"paper": (flagged, dropped, None)}

    image_oof = paper_image_oof(setting, seed_index, rows)
    start = time.perf_counter()
    text_oof = tfidf_oof(rows, train, seed)
    text_seconds = time.perf_counter() - start
    for name, oof in (
        ("tfidf_oof", fuse_probabilities(text_oof)),
        ("fused_oof", fuse_probabilities(text_oof, image_oof)),
    ):
        for variant, fraction in ((name, DENOISING["drop_fraction"]), (f"{name}_all", 1.0)):
            variants[variant] = (*flags_and_drops(train, given, oof, rows.codes, fraction), None)
    for name, (flagged, dropped, _) in variants.items():
        report[name] = {
            "flagged": flag_scores(flagged, flipped),
            "dropped": flag_scores(dropped, flipped),
        }
        (folder / "denoising").mkdir(parents=True, exist_ok=True)
        np.savez(folder / "denoising" / f"{name}.npz", flagged=flagged, dropped=dropped)
        if name != "paper":
            tfidf = train_tfidf_classifier(train[~dropped], {**TFIDF, "seed": seed})
            test = pd.read_parquet(project / "data/03_primary/test_products.parquet").set_index(
                "row_id"
            )
            save_method(
                setting, seed_index, f"text.tfidf.{name}",
                val_probs=tfidf_probabilities(tfidf, products.loc[rows.val_row_ids], 27),
                test_probs=tfidf_probabilities(tfidf, test.loc[rows.test_row_ids], 27),
            )  # fmt: skip
    report["tfidf_oof_seconds"] = round(text_seconds, 1)
    write_json(folder / "denoising.json", report)
    log(f"{setting.name} seed{seed_index} denoising: {json_brief(report)}")


def paper_image_oof(setting: Setting, seed_index: int, rows: Rows) -> np.ndarray:
    """The paper run's image out-of-fold probabilities of the training rows (its denoising's)."""
    table = pd.read_parquet(run_folder(setting, seed_index) / "paper" / "oof_probs.parquet")
    table = table.set_index("row_id").loc[rows.train_row_ids, [str(c) for c in rows.codes]]
    return table.to_numpy()


def tfidf_oof(rows: Rows, train: pd.DataFrame, seed: int) -> np.ndarray:
    """A TF-IDF's out-of-fold probabilities of the training rows on the denoising folds of
    ``seed``: what ``denoising.probabilities: image_and_text`` fuses with the image ones (the
    pipeline's own functions)."""
    folds = denoising_folds(rows.train_given, {**DENOISING, "seed": seed}, rows.codes)
    return tfidf_out_of_fold(train, folds, {**TFIDF, "seed": seed}, len(rows.codes))


def json_brief(report: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} dropped P {value['dropped']['precision']:.2f} R {value['dropped']['recall']:.2f}"
        for name, value in report.items()
        if isinstance(value, dict)
    )


def stored_denoising(setting: Setting, seed_index: int) -> dict[str, Any] | None:
    return read_json(run_folder(setting, seed_index) / "denoising.json")


# -- the paper's image components, one at a time ---------------------------------------------------

#: The 2 × 2 of the paper configuration's image recipe (stage 1 at 32 px, stage 2 at 48 px): DCL
#: or plain stage 2, denoised or all training rows. ``--env paper`` runs two corners
#: (``image_dcl_clean``, ``image_plain_noisy``); these are the other two (stored as
#: ``corner.<name>``), through the pipeline's own node functions.
PAPER_CORNERS = {"plain_clean": ("denoised", False), "dcl_noisy": ("all", True)}


def paper_ablation(setting: Setting, seed_index: int) -> None:
    """Train the two missing corners and store each one's stage 1 and stage 2 outputs."""
    from rakuten_kedro.pipelines.image_model.nodes import (  # noqa: PLC0415
        list_training_ids,
        predict_image_model,
        train_first_stage,
        train_second_stage,
    )

    rows = load_rows(setting)
    project = ensure_project(setting)
    products = pd.read_parquet(project / "data/03_primary/products.parquet")
    encoding = read_json(project / "data/03_primary/label_encoding.json")
    labelled, test = _caches(project)
    block = PAPER_IMAGE
    run = {**block["run"], "seed": training_seed(seed_index), "progress": False}
    for corner, (training_rows, dcl) in PAPER_CORNERS.items():
        if method_path(setting, seed_index, f"corner.{corner}").is_file():
            continue
        ids = (
            pd.read_csv(run_folder(setting, seed_index) / "paper" / "clean_training_ids.csv")
            if training_rows == "denoised"
            else list_training_ids(products)
        )
        checkpoints = run_folder(setting, seed_index) / "checkpoints"
        log(f"{setting.name} seed{seed_index} corner.{corner}: training ({len(ids)} photos)")
        start = time.perf_counter()
        stage1, _ = train_first_stage(
            "from scratch", products, ids, labelled, encoding, block["model"], block["stage1"],
            block["augment"], run, checkpoints, variant=corner,
        )  # fmt: skip
        stage1_seconds = time.perf_counter() - start
        stage2, _ = train_second_stage(
            stage1, products, ids, labelled, block["stage2"], block["augment"], run, checkpoints,
            variant=corner, dcl=dcl,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        for name, model, stage2_params in (
            (f"corner.{corner}.stage1", stage1, {**block["stage2"], "enabled": False}),
            (f"corner.{corner}", stage2, block["stage2"]),
        ):
            probs = {
                split: predict_image_model(
                    model, pd.DataFrame({"row_id": row_ids}), cache, encoding, block["stage1"],
                    stage2_params, block["augment"], run,
                )[0]
                for split, row_ids, cache in (
                    ("val", rows.val_row_ids, labelled), ("test", rows.test_row_ids, test)
                )
            }  # fmt: skip
            save_method(
                setting, seed_index, name,
                val_probs=probs["val"].drop(columns="row_id").to_numpy(np.float32),
                test_probs=probs["test"].drop(columns="row_id").to_numpy(np.float32),
            )  # fmt: skip
        record_timing(
            setting, seed_index, f"corner.{corner}",
            {"wall_s": round(seconds, 1), "stage1_s": round(stage1_seconds, 1)},
        )  # fmt: skip
        shutil.rmtree(checkpoints, ignore_errors=True)
