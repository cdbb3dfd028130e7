"""The classical baseline: TF-IDF on word and character n-grams + a linear classifier.

It is what a practitioner tries first, trains in seconds on a CPU, and is a cheap ensemble
member. Character n-grams (within word boundaries) catch misspellings, plurals and product
references that word n-grams miss.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from rakuten_kedro.config import ConfigError, TfidfModel, parses_params
from rakuten_kedro.fingerprint import Fingerprint, labels_digest, text_digest
from rakuten_kedro.text.data import product_texts
from rakuten_kedro.training.checkpoint import reuse_or_build
from rakuten_kedro.training.cross_validation import cross_validate


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


@parses_params
def build_tfidf_classifier(params: TfidfModel) -> Pipeline:
    """The untrained scikit-learn pipeline.

    Args:
        params: The variant's ``model`` block.

    Returns:
        ``Pipeline([("features", FeatureUnion(word, char)), ("classifier", …)])``.
    """
    common = {
        "min_df": params.min_df,
        "max_features": params.max_features,
        "sublinear_tf": True,
        "lowercase": True,
        "strip_accents": None,
        "dtype": np.float32,
    }
    word = TfidfVectorizer(analyzer="word", ngram_range=params.word_ngram_range, **common)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=params.char_ngram_range, **common)
    features = FeatureUnion([("word", word), ("char", char)])
    if params.classifier == "logistic_regression":
        classifier = LogisticRegression(
            C=params.C, max_iter=params.max_iter, random_state=params.seed
        )
    else:
        classifier = SGDClassifier(
            loss="log_loss", alpha=params.alpha, max_iter=params.max_iter, random_state=params.seed
        )
    return Pipeline([("features", features), ("classifier", classifier)])


@parses_params
def train_tfidf_classifier(train_products: pd.DataFrame, params: TfidfModel) -> Pipeline:
    """Fits the TF-IDF pipeline on the training rows.

    Args:
        train_products: Rows with ``title``, ``description`` and ``label``.
        params: See :func:`build_tfidf_classifier`.

    Returns:
        The fitted pipeline (classes are label indices).
    """
    model = build_tfidf_classifier(params)
    model.fit(product_documents(train_products), train_products["label"].to_numpy(np.int64))
    model.build_params = params  # what tfidf_state saves, to rebuild it
    return model


@parses_params
def train_or_reuse_tfidf(
    train_products: pd.DataFrame, params: TfidfModel, folder: Path | None, name: str
) -> Pipeline:
    """:func:`train_tfidf_classifier`, or the model kept in ``folder`` when it was fitted on
    the same texts and labels with the same settings.

    Args:
        train_products: Rows with ``row_id``, ``title``, ``description`` and ``label``.
        params: See :func:`build_tfidf_classifier`.
        folder: Where the fitted model is kept between runs (``None``: never kept).
        name: The variant, for the log.

    Returns:
        The fitted pipeline.
    """
    return reuse_or_build(
        folder,
        Fingerprint.of(
            settings=params.model_dump(mode="json"),
            training_text=text_digest(train_products),
            training_labels=labels_digest(train_products["row_id"], train_products["label"]),
        ),
        build=lambda: train_tfidf_classifier(train_products, params),
        save=save_tfidf,
        load=load_tfidf,
        what=name,
    )


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


@dataclass
class TfidfFoldModel:
    """One fold's fitted TF-IDF pipeline for ``cross_validate``; its inputs are row positions
    in ``products``. It has no epochs (``best_epoch`` 0, ``best_score`` NaN)."""

    model: Pipeline
    products: pd.DataFrame
    num_classes: int
    best_epoch: int = 0
    best_score: float = float("nan")

    def predict_proba(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, num_classes)`` probabilities of the rows at positions ``inputs[0]``."""
        return tfidf_probabilities(self.model, self.products.iloc[inputs[0]], self.num_classes)


@parses_params
def tfidf_out_of_fold(
    products: pd.DataFrame, folds: np.ndarray, params: TfidfModel, num_classes: int
) -> np.ndarray:
    """Out-of-fold TF-IDF probabilities: each row from the model fitted on the other folds.

    The project's one out-of-fold loop (``training.cross_validation.cross_validate``) with
    :func:`train_tfidf_classifier` as the fold model; every fold model uses ``params.seed``.
    Nothing is kept on disk: K fits take seconds on the demo data.

    Args:
        products: Rows with ``title``, ``description`` and ``label`` (e.g. the training split).
        folds: ``(N,)`` fold index of every row (``training.folds.assign_folds``; denoising
            passes ``vision.denoise.denoising_folds``, the image models' folds).
        params: The TF-IDF model settings (a TF-IDF variant's ``model`` block).
        num_classes: Number of classes (``len(codes)``).

    Returns:
        ``(N, num_classes)`` float32 probabilities, rows in table order.
    """
    labels = products["label"].to_numpy(np.int64)

    def train_fold(
        train_inputs: Sequence[np.ndarray],
        train_labels: np.ndarray,
        select_inputs: Sequence[np.ndarray],
        select_labels: np.ndarray,
        fold: int,
    ) -> TfidfFoldModel:
        model = train_tfidf_classifier(products.iloc[train_inputs[0]], params)
        return TfidfFoldModel(model, products, num_classes)

    # ``held_out``: each fold model fits on all the other folds (TF-IDF has no epoch to pick on
    # the rows it is given for that).
    return cross_validate(
        [np.arange(len(products))],
        labels,
        folds,
        train_fold,
        num_classes=num_classes,
        epoch_selection="held_out",
        desc="TF-IDF out-of-fold",
        progress=False,
    ).oof_probs


# ---------------------------------------------------------------------------------------------
# Saving without pickle: the fitted state as JSON (settings, vocabularies) and arrays.

#: Fitted attributes of the classifier that prediction reads.
_CLASSIFIER_ARRAYS = ("coef_", "intercept_", "classes_")


def tfidf_state(model: Pipeline) -> tuple[dict, dict[str, np.ndarray]]:
    """The fitted pipeline as plain values: JSON-able settings and vocabularies, and arrays.

    Args:
        model: A pipeline fitted by :func:`train_tfidf_classifier` (or rebuilt by
            :func:`tfidf_from_state`).

    Returns:
        ``(config, arrays)``; :func:`tfidf_from_state` rebuilds the same predictions from them.
    """
    config: dict[str, Any] = {
        "params": model.build_params.model_dump(mode="json"),
        "vocabularies": {},
    }
    arrays: dict[str, np.ndarray] = {}
    for name, vectorizer in model.named_steps["features"].transformer_list:
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        config["vocabularies"][name] = terms
        arrays[f"{name}.idf"] = np.asarray(vectorizer.idf_, dtype=np.float64)
    classifier = model.named_steps["classifier"]
    for attribute in _CLASSIFIER_ARRAYS:
        arrays[f"classifier.{attribute}"] = np.asarray(getattr(classifier, attribute))
    return config, arrays


def tfidf_from_state(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Pipeline:
    """Rebuilds a fitted pipeline from :func:`tfidf_state`'s output (no pickle involved).

    Raises:
        ValueError: When the state is incomplete or its shapes disagree.
    """
    try:
        params = TfidfModel.parse(config["params"], "TF-IDF model settings")
        model = build_tfidf_classifier(params)
        for name, vectorizer in model.named_steps["features"].transformer_list:
            terms = config["vocabularies"][name]
            vectorizer.set_params(vocabulary={term: i for i, term in enumerate(terms)})
            vectorizer.idf_ = np.asarray(arrays[f"{name}.idf"], dtype=np.float64)
        classifier = model.named_steps["classifier"]
        for attribute in _CLASSIFIER_ARRAYS:
            setattr(classifier, attribute, np.asarray(arrays[f"classifier.{attribute}"]))
    except (KeyError, ConfigError) as error:
        raise ValueError(f"incomplete TF-IDF model: {error}") from error
    features = sum(len(terms) for terms in config["vocabularies"].values())
    classifier.n_features_in_ = features
    if classifier.coef_.shape[1] != features:
        raise ValueError(
            f"TF-IDF model: the classifier has {classifier.coef_.shape[1]} weights per class "
            f"but the vocabularies hold {features} terms"
        )
    model.build_params = params
    return model


CONFIG_FILE = "tfidf.json"
ARRAYS_FILE = "arrays.safetensors"


def save_tfidf(model: Pipeline, folder: Path) -> None:
    """Writes a fitted TF-IDF pipeline into the existing ``folder`` (JSON + safetensors)."""
    config, arrays = tfidf_state(model)
    save_file(arrays, str(Path(folder) / ARRAYS_FILE))
    (Path(folder) / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def load_tfidf(folder: Path) -> Pipeline:
    """Rebuilds the pipeline :func:`save_tfidf` wrote into ``folder`` (no pickle involved)."""
    config = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
    return tfidf_from_state(config, load_file(str(Path(folder) / ARRAYS_FILE)))
