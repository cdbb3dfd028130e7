"""Quick check that the demo data has the intended difficulty (not a test; minutes on a CPU).

Trains on the training products (with their given, partly flipped labels) and scores macro-F1
on the test products (true codes from ``demo_test_labels.csv``) for three simple models:
TF-IDF + logistic regression on the text, logistic regression on 16x16 photos, and one
logistic regression on both feature sets. Intended: text ≈ 0.75–0.88, photos ≈ 0.45–0.7,
both ≥ 0.9.

Usage: ``python -m rakuten_kedro.demo.selfcheck data/01_raw/demo``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from rakuten_kedro.demo.generator import (
    TEST_IMAGE_DIR,
    TEST_LABELS_FILE,
    TRAIN_IMAGE_DIR,
    X_TEST_FILE,
    X_TRAIN_FILE,
    Y_TRAIN_FILE,
)
from rakuten_kedro.text_cleaning import clean_text


def _texts(products: pd.DataFrame) -> list[str]:
    return [
        f"{clean_text(title)} {clean_text(description)}"
        for title, description in zip(products["designation"], products["description"], strict=True)
    ]


def _pixels(products: pd.DataFrame, folder: Path, size: int) -> np.ndarray:
    rows = []
    for productid, imageid in zip(products["productid"], products["imageid"], strict=True):
        with Image.open(folder / f"image_{imageid}_product_{productid}.jpg") as photo:
            small = photo.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            rows.append(np.asarray(small, dtype=np.float32).ravel() / 255)
    return np.stack(rows)


def self_check(data_dir: str | Path, photo_size: int = 16) -> dict[str, float]:
    """Macro-F1 on the test products of text-only, photo-only and text+photo linear models.

    Args:
        data_dir: A folder written by ``generate_demo_dataset``.
        photo_size: Side the photos are shrunk to before the photo model sees them.

    Returns:
        ``{"text": …, "image": …, "both": …}`` macro-F1 scores.
    """
    data_dir = Path(data_dir)
    train = pd.read_csv(data_dir / X_TRAIN_FILE, index_col=0)
    test = pd.read_csv(data_dir / X_TEST_FILE, index_col=0)
    y_train = pd.read_csv(data_dir / Y_TRAIN_FILE, index_col=0)["prdtypecode"].to_numpy()
    y_test = pd.read_csv(data_dir / TEST_LABELS_FILE)["prdtypecode"].to_numpy()

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    text_train = vectorizer.fit_transform(_texts(train))
    text_test = vectorizer.transform(_texts(test))
    scaler = StandardScaler()
    photo_train = scaler.fit_transform(_pixels(train, data_dir / TRAIN_IMAGE_DIR, photo_size))
    photo_test = scaler.transform(_pixels(test, data_dir / TEST_IMAGE_DIR, photo_size))
    # Scale the dense photo block down so that it does not swamp the sparse TF-IDF block.
    photo_weight = 1 / np.sqrt(photo_train.shape[1])

    scores = {}
    for name, x_train, x_test, c in (
        ("text", text_train, text_test, 10.0),
        ("image", photo_train, photo_test, 0.01),
        (
            "both",
            sparse.hstack([text_train, photo_weight * photo_train]).tocsr(),
            sparse.hstack([text_test, photo_weight * photo_test]).tocsr(),
            10.0,
        ),
    ):
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(x_train, y_train)
        scores[name] = float(f1_score(y_test, model.predict(x_test), average="macro"))
    return scores


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--photo-size", type=int, default=16)
    arguments = parser.parse_args()
    for model_name, score in self_check(arguments.data_dir, arguments.photo_size).items():
        print(f"{model_name:>5}: macro-F1 {score:.3f}")
