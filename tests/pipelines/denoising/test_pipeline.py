"""The denoising pipeline end to end on synthetic photos with injected label flips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from matplotlib.figure import Figure

from rakuten_kedro.datasets.checkpoints import CheckpointsDataset
from rakuten_kedro.datasets.label_noise import LabelNoiseDataset
from rakuten_kedro.pipelines.denoising import nodes
from rakuten_kedro.pipelines.denoising.nodes import find_label_issues, score_denoising
from rakuten_kedro.pipelines.denoising.pipeline import create_pipeline
from rakuten_kedro.vision.denoise import LABEL_ISSUE_COLUMNS
from tests.params import params
from tests.vision.fixtures import CODES, make_image_products

PARAMS = params(
    "denoising",
    folds=3,
    seed=0,
    probabilities="image",  # the paper's ranking: these photos have no text (conf/base fuses)
    drop_fraction=0.5,
    figure_top=6,
    augment={"rotation_degrees": 0},
    train={"cache_size": 16, "input_size": 16, "epochs": 3, "batch_size": 16, "lr": 0.003},
    run={"progress": False, "mixed_precision": "no"},
)


TFIDF = params("text_tfidf.model", min_df=1, seed=0)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_catalog(tmp_path, products, cache, truth_dataset, denoising=PARAMS):
    # Intermediate results go to files (as in conf/base), so the test can read them back.
    return DataCatalog(
        datasets={
            "label_issues": CSVDataset(
                filepath=str(tmp_path / "label_issues.csv"), save_args={"index": False}
            ),  # fmt: skip
            "denoising_oof_probs": ParquetDataset(filepath=str(tmp_path / "oof.parquet")),
            "denoising_text_oof_probs": ParquetDataset(filepath=str(tmp_path / "text_oof.parquet")),
            "products": MemoryDataset(products),
            "image_cache": MemoryDataset(cache, copy_mode="assign"),
            "label_encoding": MemoryDataset({"codes": CODES}),
            "params:denoising": MemoryDataset(denoising),
            "params:text_tfidf.model": MemoryDataset(TFIDF),
            "checkpoints": CheckpointsDataset(path=str(tmp_path / "checkpoints")),
            "demo_label_noise": truth_dataset,
        }
    )


def test_only_the_scoring_node_reads_the_truth_file():
    pipeline = create_pipeline()
    readers = [node.name for node in pipeline.nodes if "demo_label_noise" in node.inputs]
    assert readers == ["score_denoising_node"]
    assert {"label_issues", "clean_training_ids", "denoising_metrics", "label_issues_figure"} <= (
        pipeline.all_outputs()
    )


def test_denoising_finds_the_injected_flips(tmp_path):
    products, _, cache, _, noise = make_image_products(n_per_class=24, flip_rate=0.15)
    truth_file = tmp_path / "demo_label_noise.csv"
    noise.to_csv(truth_file, index=False)
    catalog = make_catalog(tmp_path, products, cache, LabelNoiseDataset(filepath=str(truth_file)))
    SequentialRunner().run(create_pipeline(), catalog)

    issues = catalog.load("label_issues")
    assert list(issues.columns) == LABEL_ISSUE_COLUMNS
    train = products[products["split"] == "train"]
    assert set(issues["row_id"]) <= set(train["row_id"])
    kept = catalog.load("clean_training_ids")
    dropped = set(issues.loc[issues["dropped"], "row_id"])
    assert set(kept["row_id"]) == set(train["row_id"]) - dropped
    assert len(dropped) == round(0.5 * len(issues)) > 0

    metrics = catalog.load("denoising_metrics")
    assert metrics["truth"] == "demo_label_noise"
    assert (metrics["probabilities"], metrics["drop_fraction"], metrics["drop_margin"]) == (
        "image", 0.5, None
    )  # fmt: skip
    assert metrics["n_flipped"] == int(noise["flipped"].sum())
    # Photos show the true class, so the flags are mostly real flips: far above chance.
    assert metrics["flagged"]["precision"] > 2 * metrics["flip_rate"]
    assert metrics["top_n_flipped"]["precision"] > 2 * metrics["flip_rate"]
    assert isinstance(catalog.load("label_issues_figure"), Figure)
    oof = catalog.load("denoising_oof_probs")
    assert oof["row_id"].tolist() == train["row_id"].tolist()
    # With the paper's image probabilities no TF-IDF is fitted: an empty table.
    text_oof = catalog.load("denoising_text_oof_probs")
    assert text_oof.empty and list(text_oof.columns) == ["row_id", *map(str, CODES)]
    # Ranking with the text as well on that empty table (a partial rerun) says what to run.
    both = {**PARAMS, "probabilities": "image_and_text"}
    with pytest.raises(ValueError, match="run cross_validate_text_model_node again"):
        find_label_issues(products, oof, text_oof, {"codes": CODES}, both)


def test_no_truth_file_means_no_score(tmp_path):
    products, _, _, _, _ = make_image_products(n_per_class=6)
    train = products[products["split"] == "train"]
    issues = pd.DataFrame({"row_id": train["row_id"].head(3), "dropped": [True, False, False]})
    absent = LabelNoiseDataset(filepath=str(tmp_path / "missing.csv")).load()
    assert absent is None
    assert score_denoising(issues, products, absent, PARAMS) == {
        "truth": "none",
        "probabilities": "image",
        "drop_fraction": 0.5,
        "drop_margin": None,
        "n_train": len(train),
        "n_flagged": 3,
        "n_dropped": 1,
    }
    other = pd.DataFrame({"row_id": train["row_id"], "productid": 0, "flipped": False})
    assert score_denoising(issues, products, other, PARAMS)["truth"].startswith("none")


#: A few words per class: the text of a product says its *true* class, as on the real data.
CLASS_WORDS = [
    "livre roman poche auteur occasion",
    "jeu manette import cartouche version",
    "souris clavier casque accessoire gamer",
    "console portable pack edition neuve",
]


def with_true_class_text(products: pd.DataFrame, noise: pd.DataFrame, seed: int = 0):
    """Titles and descriptions drawn from each product's true class words, so the text of a
    flipped row contradicts its given label."""
    rng = np.random.default_rng(seed)
    truth = noise.set_index("row_id").loc[products["row_id"], "true_prdtypecode"]
    words = [CLASS_WORDS[CODES.index(int(code))].split() for code in truth]
    return products.assign(
        title=[" ".join(rng.choice(w, 3)) for w in words],
        description=[" ".join(rng.choice(w, 4)) for w in words],
    )


def without_class_in_some_photos(cache, share: float, seed: int = 0):
    """Grey noise instead of the class colour in ``share`` of the photos (every size), as a
    photo that does not show the product well: the image model cannot tell those rows."""
    rng = np.random.default_rng(seed)
    rows = rng.random(len(cache.row_ids)) < share
    for size, photos in cache.arrays.items():
        noise = rng.normal(128, 30, (int(rows.sum()), size, size, 3))
        photos[rows] = np.clip(noise, 0, 255).astype(np.uint8)
    return cache


def test_text_and_image_probabilities_use_the_same_folds(monkeypatch):
    """Both out-of-fold nodes split the training rows with the same ``denoising_folds``."""
    products, _, cache, _, noise = make_image_products(n_per_class=12, flip_rate=0.1)
    products = with_true_class_text(products, noise)
    seen = {}

    def fake_image_oof(images, positions, labels, folds, **kwargs):
        seen["image"] = folds
        return np.full((len(labels), len(CODES)), 1 / len(CODES), dtype=np.float32)

    def fake_text_oof(train, folds, params, num_classes):
        seen["text"] = folds
        return np.full((len(train), num_classes), 1 / num_classes, dtype=np.float32)

    monkeypatch.setattr(nodes, "out_of_fold_probs", fake_image_oof)
    monkeypatch.setattr(nodes, "tfidf_out_of_fold", fake_text_oof)
    both = {**PARAMS, "seed": 4, "probabilities": "image_and_text"}
    encoding = {"codes": CODES}
    nodes.cross_validate_image_model("from scratch", products, cache, encoding, both, "/x")
    nodes.cross_validate_text_model(products, encoding, both, TFIDF)
    train = products[products["split"] == "train"]
    assert len(seen["image"]) == len(train) and set(seen["image"]) == {0, 1, 2}
    np.testing.assert_array_equal(seen["text"], seen["image"])


def test_text_and_image_together_drop_more_of_the_flips(tmp_path):
    """Flipped rows whose text shows the true class, half the photos without the class (the
    demo's small image models are weak too): with ``image_and_text`` and every flagged row
    dropped, more flips are dropped than with the image probabilities alone, at a precision no
    worse."""
    products, _, cache, _, noise = make_image_products(n_per_class=40, flip_rate=0.15, seed=1)
    products = with_true_class_text(products, noise)
    cache = without_class_in_some_photos(cache, 0.5)
    truth_file = tmp_path / "demo_label_noise.csv"
    noise.to_csv(truth_file, index=False)
    both = {**PARAMS, "probabilities": "image_and_text", "drop_fraction": 1.0}
    catalog = make_catalog(
        tmp_path, products, cache, LabelNoiseDataset(filepath=str(truth_file)), denoising=both
    )
    SequentialRunner().run(create_pipeline(), catalog)
    fused = catalog.load("denoising_metrics")
    assert (fused["probabilities"], fused["drop_fraction"]) == ("image_and_text", 1.0)
    train = products[products["split"] == "train"]
    assert catalog.load("denoising_text_oof_probs")["row_id"].tolist() == train["row_id"].tolist()

    # The same image out-of-fold probabilities, ranked alone.
    image_only = {**both, "probabilities": "image"}
    issues = find_label_issues(
        products,
        catalog.load("denoising_oof_probs"),
        catalog.load("denoising_text_oof_probs"),
        {"codes": CODES},
        image_only,
    )
    image = score_denoising(issues, products, catalog.load("demo_label_noise"), image_only)
    assert image["dropped"]["n"] == image["n_flagged"]  # drop_fraction 1.0: every flag
    # Here 19 of the 22 flips at precision 0.66, against 13 at 0.52.
    assert fused["dropped"]["recall"] > image["dropped"]["recall"]
    assert fused["dropped"]["precision"] >= image["dropped"]["precision"]
