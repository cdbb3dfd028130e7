"""Build, train and apply the transformer text classifier (pretrained or from scratch).

The two ways to get an encoder are one parameter apart: ``model_name_or_path`` set → a
pretrained CamemBERT/RoBERTa-family model (hub id or folder); ``null`` → a tokenizer trained on
the training texts and a small ``CamembertConfig`` encoder whose sizes are parameters.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from transformers import AutoTokenizer, CamembertConfig, CamembertModel

from rakuten_kedro.distributed import process_rank
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
from rakuten_kedro.training import (
    FitResult,
    TrainConfig,
    fit,
    linear_warmup_decay,
    optimizer_steps,
    predict,
)

logger = logging.getLogger(__name__)

TOKENIZER_DIR = "tokenizer"
#: Training parameters that do not change the trained model: changing them keeps the checkpoint.
RUN_ONLY_SETTINGS = frozenset(
    {"progress", "num_workers", "eval_batch_size", "checkpoint_root", "cpu", "patience", "compile"}
)


def settings_fingerprint(*parts: Any) -> str:
    """A short hash of JSON-serialisable settings (and data summaries) for checkpoint matching.

    Args:
        *parts: Parameters, codes, row ids… anything whose change must restart training.

    Returns:
        16 hex digits.
    """
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _scratch_tokenizer(
    train_products: pd.DataFrame, scratch: Mapping[str, Any], max_length: int,
    checkpoint_dir: Path | None, fingerprint: str,
):  # fmt: skip
    """Trains the tokenizer, or reloads the one a previous (interrupted) run trained, so that a
    resumed model keeps the token ids it was trained with."""
    saved = None if checkpoint_dir is None else checkpoint_dir / TOKENIZER_DIR
    if saved is not None and (saved / "fingerprint.txt").is_file():
        if (saved / "fingerprint.txt").read_text().strip() == fingerprint:
            logger.info("reusing the tokenizer trained by the previous run in %s", saved)
            return AutoTokenizer.from_pretrained(saved)
    titles, descriptions = product_texts(train_products)
    tokenizer = train_tokenizer(
        titles + descriptions,
        vocab_size=int(scratch.get("vocab_size", 4000)),
        min_frequency=int(scratch.get("min_frequency", 2)),
        max_length=max_length,
    )
    if saved is not None and process_rank() == 0:
        # Under a multi-process launch every rank trains the same tokenizer; one writes it.
        tokenizer.save_pretrained(saved)
        (saved / "fingerprint.txt").write_text(fingerprint)
    return tokenizer


def build_text_classifier(
    train_products: pd.DataFrame,
    codes: list[int],
    model_params: Mapping[str, Any],
    *,
    checkpoint_dir: str | Path | None = None,
    fingerprint: str = "",
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
        fingerprint: Settings hash; a kept tokenizer with another one is retrained.
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
            fingerprint,
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
    fingerprint = settings_fingerprint(
        dict(model_params),
        {k: v for k, v in training_params.items() if k not in RUN_ONLY_SETTINGS},
        list(codes),
        hashlib.sha256(train_rows[["row_id", "label"]].to_numpy(np.int64).tobytes()).hexdigest(),
    )
    seed = int(training_params.get("seed", 2020))
    model = build_text_classifier(
        train_rows,
        codes,
        model_params,
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
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
        fingerprint=fingerprint,
        name=name,
        compile=bool(training_params.get("compile", False)),
    )
    optimizer = _adamw(
        model,
        float(training_params.get("lr", 5e-5)),
        float(training_params.get("weight_decay", 0.01)),
    )
    scheduler = linear_warmup_decay(
        optimizer,
        optimizer_steps(train_loader, config.epochs, config.gradient_accumulation_steps),
        float(training_params.get("warmup_fraction", 0.1)),
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
