"""The model card: each section says what the run's tables say."""

from __future__ import annotations

import pandas as pd

from rakuten_kedro.config import Ensemble, ModelCard
from rakuten_kedro.reporting.model_card import model_card

CODES = [10, 40, 50]
GRID = {
    "text": [{"name": "text_tfidf", "kind": "tfidf", "training_ids": "all"}],
    "image": [{"name": "image_dcl_clean", "training_ids": "clean", "dcl": True}],
    "members": [
        {"name": "m1", "text": "text_tfidf", "image": "image_dcl_clean", "network": "concat"}
    ],
}
CHOICE = {"text": "text_tfidf", "image": "image_dcl_clean", "decision_fusion": "m1"}


def _card(rule: str = "soft", denoised: bool = True, prior_correction: float = 1.0) -> str:
    products = pd.DataFrame(
        {"prdtypecode": [10, 10, 10, 40, 40, 50], "split": ["train"] * 4 + ["val"] * 2}
    )
    # The headline rows copy their chosen method's scores; the best method is a measured one.
    results = {"text": {"macro_f1": 0.5}, "decision_fusion": {"macro_f1": 0.8},
               "text_tfidf": {"macro_f1": 0.5}, "m1": {"macro_f1": 0.8},
               "ensemble": {"macro_f1": 0.8}}  # fmt: skip
    validation = pd.DataFrame(
        {"label": [0, 1, 2, 2], "text_tfidf": [0, 0, 0, 0], "m1": [0, 1, 1, 1],
         "ensemble": [0, 1, 1, 1]}
    )  # fmt: skip  # m1 (and the ensemble) never find code 50
    denoising = {"probabilities": "image_and_text", "n_train": 4, "n_flagged": 2, "n_dropped": 1,
                 "flagged": {"precision": 0.5, "recall": 1.0},
                 "dropped": {"precision": 1.0, "recall": 0.5}}  # fmt: skip
    image_metrics = {"image_dcl_clean": {"training": {"stage1": {"seconds": 60.0},
                                                      "stage2": {"seconds": 120.0}}}}  # fmt: skip
    options = ModelCard(data_source="demo", worst_classes=2)
    return model_card(products, results, CHOICE, validation, CODES,
                      denoising if denoised else None,
                      GRID, options,
                      image_metrics, Ensemble(rule=rule), prior_correction)  # fmt: skip


def test_the_card_has_every_section_in_order():
    sections = [line for line in _card().splitlines() if line.startswith("## ")]
    assert sections == ["## Data", "## Method", "## Validation scores (%)", "## Denoising",
                        "## Training", "## Intended use", "## Known limits"]  # fmt: skip


def test_data_classes_worst_classes_denoising_and_training_time_are_the_runs():
    card = _card()
    assert "- Source: `demo`; 6 labelled products: 4 train, 2 val" in card
    assert "3 codes; rows per code, most first: 10: 3, 40: 2, 50: 1" in card
    # m1 and the ensemble tie: the card shows the ensemble, what the submission predicts.
    assert "Worst 2 classes of the best method (`ensemble`), F1 %:" in card
    worst = card.split("|---:|---|---:|\n")[1].splitlines()[:2]
    assert [row.split(" | ")[0] for row in worst] == ["| 50", "| 40"]
    assert worst[0].endswith("| 0.0 |") and worst[1].endswith("| 50.0 |")
    assert (
        "cleanlab flagged 2 of 4 training products; the variants trained on denoised ids drop 1"
        in (card)
    )
    assert (
        "precision 50 %, recall 100 %; of the dropped rows: precision 100 %, recall 50 %." in card
    )
    assert "cleanlab ranked the product of the image models' and the TF-IDF model's" in card
    assert "Image training time (both stages of every image variant): 3.0 min" in card
    assert "`m1`: `text_tfidf` + `image_dcl_clean`, network `concat`" in card
    assert (
        "- Headline rows, chosen by validation macro-F1 (ties: the first declared): decision "
        "fusion = `m1`, text = `text_tfidf`, image = `image_dcl_clean`"
    ) in card
    assert "| Decision-level Fusion (`m1`) | 90.94 | 90.17 | 80.00 |" in card
    assert "and a soft vote of the members: the class with the highest mean probability." in card
    assert "and a majority vote of the members. After" in _card("majority")
    assert "- Fusion decisions: each class probability divided by the class's training " in card
    assert "frequency to the power 1 (`fusion.decisions.prior_correction`)" in card
    assert "- Fusion decisions: each network's most probable class (the paper's)." in _card(
        prior_correction=0.0
    )


def test_a_run_without_denoising_says_so_instead_of_counting_flags():
    card = _card(denoised=False)
    denoising = card.split("## Denoising\n")[1].split("\n\n")[0]
    assert denoising == (
        "No denoising in this run: no variant of the grid trains on denoised ids "
        "(`training_ids: denoised`)."
    )
