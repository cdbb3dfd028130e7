"""Build, train and apply the transformer text classifier (pretrained or from scratch).

The two ways to get an encoder are one parameter apart: ``model_name_or_path`` set → a
pretrained CamemBERT/RoBERTa-family model (hub id or folder); ``null`` → a tokenizer trained on
the training texts and a small ``CamembertConfig`` encoder whose sizes are parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from transformers import AutoTokenizer, CamembertConfig, CamembertModel, get_scheduler

from rakuten_kedro.fingerprint import Fingerprint, labels_digest, text_digest
from rakuten_kedro.models.text import (
    TextClassifier,
    text_logits,
    text_logits_and_features,
    text_loss,
)
from rakuten_kedro.text.data import (
    EncodedTexts,
    encode_products,
    inference_order,
    product_texts,
    text_loader,
)
from rakuten_kedro.text.pretrained import load_pretrained
from rakuten_kedro.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, train_tokenizer
from rakuten_kedro.training import FitResult, TrainConfig, fit, optimizer_steps, predict
from rakuten_kedro.training.checkpoint import reuse_or_build
from rakuten_kedro.training.loop import RUN_ONLY_SETTINGS

logger = logging.getLogger(__name__)

TOKENIZER_DIR = "tokenizer"


def text_fingerprint(
    settings: dict[str, Any], tokenizer: Any, train_rows: pd.DataFrame, val_rows: pd.DataFrame
) -> Fingerprint:
    """What a text model depends on besides its initial weights: settings, the tokenizer that
    turns its texts into ids, and the cleaned text and labels of the training rows and of the
    validation rows that pick its epoch."""
    return Fingerprint.of(
        settings=settings,
        tokenizer=tokenizer.backend_tokenizer.to_str(),
        training_text=text_digest(train_rows),
        training_labels=labels_digest(train_rows["row_id"], train_rows["label"]),
        validation_text=text_digest(val_rows),
        validation_labels=labels_digest(val_rows["row_id"], val_rows["label"]),
    )


def _scratch_tokenizer(
    train_products: pd.DataFrame, scratch: Mapping[str, Any], max_length: int,
    checkpoint_dir: Path | None,
):  # fmt: skip
    """Trains the tokenizer, or reloads the one a previous (interrupted) run trained from the
    same texts and settings, so that a resumed model keeps the token ids it was trained with."""

    def train() -> Any:
        titles, descriptions = product_texts(train_products)
        return train_tokenizer(
            titles + descriptions,
            vocab_size=int(scratch.get("vocab_size", 4000)),
            min_frequency=int(scratch.get("min_frequency", 2)),
            max_length=max_length,
        )

    return reuse_or_build(
        None if checkpoint_dir is None else checkpoint_dir / TOKENIZER_DIR,
        Fingerprint.of(
            settings={"from_scratch": dict(scratch), "max_length": max_length},
            training_text=text_digest(train_products),
        ),
        build=train,
        save=lambda tokenizer, folder: tokenizer.save_pretrained(folder),
        load=AutoTokenizer.from_pretrained,
        what="tokenizer",
    )


def build_text_classifier(
    train_products: pd.DataFrame,
    codes: list[int],
    model_params: Mapping[str, Any],
    *,
    checkpoint_dir: str | Path | None = None,
    parameter: str = "model.model_name_or_path",
    seed: int = 2020,
) -> TextClassifier:
    """Builds the untrained classifier: pretrained encoder, or tokenizer + encoder from scratch.

    Args:
        train_products: Training rows (``title``, ``description``): the from-scratch
            tokenizer learns its vocabulary from them.
        codes: Product type codes in label order.
        model_params: ``model_name_or_path`` (``None``: from scratch), ``max_length``,
            ``pooling``, ``dropout`` and, for from scratch, ``from_scratch`` sizes
            (``vocab_size``, ``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
            ``intermediate_size``, ``min_frequency``).
        checkpoint_dir: Where the from-scratch tokenizer is kept for resumed runs.
        parameter: Full name of the ``model_name_or_path`` parameter, for error messages.
        seed: Seed of the new weights.

    Returns:
        The classifier (with its tokenizer) in training mode.
    """
    max_length = int(model_params.get("max_length", 128))
    name = model_params.get("model_name_or_path")
    torch.manual_seed(seed)
    if name:
        encoder, tokenizer = load_pretrained(str(name), max_length, parameter=parameter)
    else:
        scratch = model_params.get("from_scratch") or {}
        tokenizer = _scratch_tokenizer(
            train_products,
            scratch,
            max_length,
            None if checkpoint_dir is None else Path(checkpoint_dir),
        )
        hidden = int(scratch.get("hidden_size", 128))
        config = CamembertConfig(
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            num_hidden_layers=int(scratch.get("num_hidden_layers", 2)),
            num_attention_heads=int(scratch.get("num_attention_heads", 2)),
            intermediate_size=int(scratch.get("intermediate_size", 4 * hidden)),
            # RoBERTa-style position ids start after the padding index.
            max_position_embeddings=max_length + PAD_ID + 1,
            pad_token_id=PAD_ID,
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            hidden_dropout_prob=float(scratch.get("hidden_dropout_prob", 0.1)),
            attention_probs_dropout_prob=float(scratch.get("attention_dropout_prob", 0.1)),
        )
        encoder = CamembertModel(config)
    return TextClassifier(
        encoder,
        tokenizer,
        codes,
        pooling=model_params.get("pooling", "pooler"),
        dropout=float(model_params.get("dropout", 0.1)),
        max_length=max_length,
    ).train()


def _adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    # No weight decay on biases and LayerNorm weights, as in BERT/RoBERTa fine-tuning.
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=lr,
    )


def _labelled(products: pd.DataFrame, split: str) -> pd.DataFrame:
    missing = {"label", "split", "row_id"} - set(products.columns)
    if missing:
        raise KeyError(f"products table lacks column(s) {sorted(missing)}")
    rows = products[products["split"] == split]
    if rows.empty:
        raise ValueError(f"products table has no row with split == {split!r}")
    return rows


def train_text_classifier(
    products: pd.DataFrame,
    codes: list[int],
    model_params: Mapping[str, Any],
    training_params: Mapping[str, Any],
    *,
    checkpoint_dir: str | Path | None = None,
    name: str = "text",
    parameter: str = "model.model_name_or_path",
) -> tuple[TextClassifier, FitResult]:
    """Builds and fine-tunes the classifier on the ``train`` rows, keeping the epoch with the
    best macro-F1 on the ``val`` rows.

    Args:
        products: Labelled products (``row_id``, ``title``, ``description``, ``label``,
            ``split``).
        codes: Product type codes in label order.
        model_params: See :func:`build_text_classifier`.
        training_params: ``epochs``, ``batch_size``, ``gradient_accumulation_steps``, ``lr``,
            ``weight_decay``, ``warmup_fraction``, ``patience``, ``mixed_precision``, ``seed``,
            ``max_grad_norm``, ``cpu``, ``num_workers``.
        checkpoint_dir: Per-epoch checkpoint (and from-scratch tokenizer) folder for resume.
        name: Label for logs and progress bars (the variant).
        parameter: Full name of the ``model_name_or_path`` parameter, for error messages.

    Returns:
        ``(model, fit_result)``; the model holds the best epoch's weights, in eval mode.
    """
    train_rows, val_rows = _labelled(products, "train"), _labelled(products, "val")
    seed = int(training_params.get("seed", 2020))
    model = build_text_classifier(
        train_rows,
        codes,
        model_params,
        checkpoint_dir=checkpoint_dir,
        parameter=parameter,
        seed=seed,
    )
    pad_id = model.tokenizer.pad_token_id
    batch_size = int(training_params.get("batch_size", 32))
    workers = int(training_params.get("num_workers", 0))
    train_data = EncodedTexts(
        encode_products(train_rows, model.tokenizer, model.max_length), train_rows["label"]
    )
    val_data = EncodedTexts(
        encode_products(val_rows, model.tokenizer, model.max_length), val_rows["label"]
    )
    train_loader = text_loader(train_data, batch_size, pad_id, shuffle=True, num_workers=workers)
    val_loader = text_loader(
        val_data, int(training_params.get("eval_batch_size", 2 * batch_size)), pad_id, False
    )
    config = TrainConfig(
        epochs=int(training_params.get("epochs", 3)),
        gradient_accumulation_steps=int(training_params.get("gradient_accumulation_steps", 1)),
        mixed_precision=str(training_params.get("mixed_precision", "auto")),
        patience=training_params.get("patience"),
        seed=seed,
        checkpoint_dir=checkpoint_dir,
        cpu=bool(training_params.get("cpu", False)),
        max_grad_norm=training_params.get("max_grad_norm", 1.0),
        progress=bool(training_params.get("progress", True)),
        fingerprint=text_fingerprint(
            {
                "model": dict(model_params),
                "training": {
                    k: v for k, v in training_params.items() if k not in RUN_ONLY_SETTINGS
                },
                "codes": list(codes),
            },
            model.tokenizer,
            train_rows,
            val_rows,
        ),
        name=name,
        compile=bool(training_params.get("compile", False)),
        # Mean or CLS pooling leaves the encoder's pooler without gradients.
        find_unused_parameters=model.pooling != "pooler",
    )
    optimizer = _adamw(
        model,
        float(training_params.get("lr", 5e-5)),
        float(training_params.get("weight_decay", 0.01)),
    )
    steps = optimizer_steps(train_loader, config.epochs, config.gradient_accumulation_steps)
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=round(float(training_params.get("warmup_fraction", 0.1)) * steps),
        num_training_steps=steps,
    )
    logger.info(
        "%s: training on %d rows, validating on %d (%s, %d parameters, max_length %d)",
        name,
        len(train_data),
        len(val_data),
        model_params.get("model_name_or_path") or "from scratch",
        sum(p.numel() for p in model.parameters()),
        model.max_length,
    )
    result = fit(
        model,
        train_loader,
        val_loader,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=text_loss,
        logits_fn=text_logits,
        config=config,
    )
    logger.info(
        "%s: best epoch %d, validation macro-F1 %.4f", name, result.best_epoch, result.best_score
    )
    return result.model, result


def predict_texts(
    model: TextClassifier,
    products: pd.DataFrame,
    *,
    batch_size: int = 64,
    mixed_precision: str = "auto",
    cpu: bool = False,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and pooled features of each product, in table order.

    Args:
        model: A trained classifier.
        products: Rows with ``title`` and ``description``.
        batch_size: Rows per batch.
        mixed_precision: ``"no"``, ``"fp16"``, ``"bf16"`` or ``"auto"``.
        cpu: Force the CPU.
        progress: Show a progress bar.

    Returns:
        ``(probs [N, n_classes], features [N, hidden])``, float32, rows in table order.
    """
    if products.empty:
        return (
            np.zeros((0, len(model.codes)), np.float32),
            np.zeros((0, model.hidden_size), np.float32),
        )
    data = EncodedTexts(encode_products(products, model.tokenizer, model.max_length))
    loader = text_loader(data, batch_size, model.tokenizer.pad_token_id, shuffle=False)
    probs, features = predict(
        model,
        loader,
        logits_fn=text_logits,
        features_fn=text_logits_and_features,
        mixed_precision=mixed_precision,
        cpu=cpu,
        progress=progress,
    )
    # The loader yields rows sorted by length; put them back in table order.
    restore = np.empty(len(data), dtype=np.int64)
    restore[inference_order(loader)] = np.arange(len(data))
    return probs[restore], features[restore]
