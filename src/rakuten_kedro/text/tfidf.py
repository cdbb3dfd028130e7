"""The classical baseline: TF-IDF on word and character n-grams + a linear classifier.

It is what a practitioner tries first, trains in seconds on a CPU, and is a cheap ensemble
member. Character n-grams (within word boundaries) catch misspellings, plurals and product
references that word n-grams miss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from rakuten_kedro.text.data import product_texts

CLASSIFIERS = ("logistic_regression", "sgd")


def product_documents(products: pd.DataFrame) -> list[str]:
    """One document per product: title, then description (title words count once more, as
    the title is the most informative field and is never empty).

    Args:
        products: Rows with ``title`` and ``description``.

    Returns:
        The documents, in table order.
    """
    titles, descriptions = product_texts(products)
    return [
        f"{title} {title} {description}".strip()
        for title, description in zip(titles, descriptions, strict=True)
    ]


def build_tfidf_classifier(params: Mapping[str, Any]) -> Pipeline:
    """The untrained scikit-learn pipeline.

    Args:
        params: ``word_ngram_range``, ``char_ngram_range``, ``min_df``, ``max_features``
            (per vectorizer), ``classifier`` (``logistic_regression`` or ``sgd``), ``C``
            (logistic regression), ``alpha`` (SGD), ``max_iter``, ``seed``.

    Returns:
        ``Pipeline([("features", FeatureUnion(word, char)), ("classifier", …)])``.
    """
    common = {
        "min_df": params.get("min_df", 2),
        "max_features": params.get("max_features"),
        "sublinear_tf": True,
        "lowercase": True,
        "strip_accents": None,
        "dtype": np.float32,
    }
    word_ngrams = tuple(params.get("word_ngram_range", (1, 2)))
    char_ngrams = tuple(params.get("char_ngram_range", (2, 5)))
    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=word_ngrams, **common)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, **common)),
        ]
    )
    kind = params.get("classifier", "logistic_regression")
    seed = int(params.get("seed", 2020))
    max_iter = int(params.get("max_iter", 1000))
    if kind == "logistic_regression":
        classifier = LogisticRegression(
            C=float(params.get("C", 10.0)), max_iter=max_iter, random_state=seed
        )
    elif kind == "sgd":
        classifier = SGDClassifier(
            loss="log_loss",
            alpha=float(params.get("alpha", 1e-5)),
            max_iter=max_iter,
            random_state=seed,
        )
    else:
        raise ValueError(f"tfidf classifier must be one of {CLASSIFIERS}, got {kind!r}")
    return Pipeline([("features", features), ("classifier", classifier)])


def train_tfidf_classifier(train_products: pd.DataFrame, params: Mapping[str, Any]) -> Pipeline:
    """Fits the TF-IDF pipeline on the training rows.

    Args:
        train_products: Rows with ``title``, ``description`` and ``label``.
        params: See :func:`build_tfidf_classifier`.

    Returns:
        The fitted pipeline (classes are label indices).
    """
    model = build_tfidf_classifier(params)
    model.fit(product_documents(train_products), train_products["label"].to_numpy(np.int64))
    return model


def tfidf_probabilities(model: Pipeline, products: pd.DataFrame, num_classes: int) -> np.ndarray:
    """Class probabilities ``[N, num_classes]`` (float32), zero for classes unseen in training.

    Args:
        model: A fitted pipeline from :func:`train_tfidf_classifier`.
        products: Rows with ``title`` and ``description``.
        num_classes: Number of classes (``len(codes)``).

    Returns:
        Probabilities in label order, rows in table order.
    """
    probs = np.zeros((len(products), num_classes), dtype=np.float32)
    if len(products):
        seen = model.classes_.astype(np.int64)
        probs[:, seen] = model.predict_proba(product_documents(products))
    return probs
