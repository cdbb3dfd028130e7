"""Small synthetic product tables whose class is readable from the text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.params import params

CODES = [10, 40, 1160, 2583, 2705]
KEYWORDS = {
    0: "livre occasion roman poche auteur",
    1: "jeu vidéo import console manette",
    2: "carte pokemon booster collection rare",
    3: "piscine tubulaire bâche pompe filtre",
    4: "livre neuf édition broché préface",
}
COMMON = "lot neuf qualité prix bon état couleur taille".split()

#: From-scratch model sizes small enough for a unit test.
TINY_MODEL = params(
    "text_transformer.model",
    max_length=32,
    from_scratch={
        "vocab_size": 400,
        "min_frequency": 1,
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "intermediate_size": 64,
    },
)
TINY_TRAINING = params(
    "text_transformer.training",
    epochs=5,
    batch_size=16,
    eval_batch_size=64,
    patience=None,
    mixed_precision="no",
    cpu=True,
    progress=False,
    seed=0,
)


def make_text_products(n: int = 250, seed: int = 0, val_every: int = 5) -> pd.DataFrame:
    """``n`` labelled products in the ``products`` format; every ``val_every``-th row is
    ``val``; a third of the descriptions are empty."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % len(CODES)
        words = KEYWORDS[label].split()
        title = " ".join([*rng.choice(words, 2), *rng.choice(COMMON, 2)])
        description = "" if i % 3 == 0 else " ".join(rng.choice(words + COMMON, 8))
        rows.append(
            {
                "row_id": 1000 + i,
                "title": title,
                "description": description,
                "prdtypecode": CODES[label],
                "label": label,
                "split": "val" if (i // len(CODES)) % val_every == 0 else "train",
            }
        )
    return pd.DataFrame(rows)


def make_test_products(n: int = 12, seed: int = 1) -> pd.DataFrame:
    """Unlabelled products in the ``test_products`` format."""
    table = make_text_products(n, seed=seed)
    table["row_id"] += 100_000
    return table.drop(columns=["prdtypecode", "label", "split"])
