"""Build, train and apply the transformer text classifier (pretrained or from scratch).

The two ways to get an encoder are one parameter apart: ``model_name_or_path`` set → a
pretrained CamemBERT/RoBERTa-family model (hub id or folder); ``null`` → a tokenizer trained on
the training texts and a small ``CamembertConfig`` encoder whose sizes are parameters.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from transformers import AutoTokenizer, CamembertConfig, CamembertModel, get_scheduler

from rakuten_kedro.config import (
    ScratchEncoder,
    TextTraining,
    TransformerModel,
    learned_settings,
    parses_params,
)
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
from rakuten_kedro.training import (
    FitResult,
    TrainConfig,
    fit,
    optimizer_steps,
    predict,
    scaled_lr,
)
from rakuten_kedro.training.checkpoint import reuse_or_build

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
    train_products: pd.DataFrame, scratch: ScratchEncoder, max_length: int,
    checkpoint_dir: Path | None,
):  # fmt: skip
    """Trains the tokenizer, or reloads the one a previous (interrupted) run trained from the
    same texts and settings, so that a resumed model keeps the token ids it was trained with."""

    def train() -> Any:
        titles, descriptions = product_texts(train_products)
        return train_tokenizer(
            titles + descriptions,
            vocab_size=scratch.vocab_size,
            min_frequency=scratch.min_frequency,
            max_length=max_length,
        )

    return reuse_or_build(
        None if checkpoint_dir is None else checkpoint_dir / TOKENIZER_DIR,
        Fingerprint.of(
            settings={
                "vocab_size": scratch.vocab_size,
                "min_frequency": scratch.min_frequency,
                "max_length": max_length,
            },
            training_text=text_digest(train_products),
        ),
        build=train,
        save=lambda tokenizer, folder: tokenizer.save_pretrained(folder),
        load=AutoTokenizer.from_pretrained,
        what="tokenizer",
    )


@parses_params
def build_text_classifier(
    train_products: pd.DataFrame,
    codes: list[int],
    model_config: TransformerModel,
    *,
    seed: int,
    checkpoint_dir: str | Path | None = None,
    parameter: str = "model.model_name_or_path",
) -> TextClassifier:
    """Builds the untrained classifier: pretrained encoder, or tokenizer + encoder from scratch.

    Args:
        train_products: Training rows (``title``, ``description``): the from-scratch
            tokenizer learns its vocabulary from them.
        codes: Product type codes in label order.
        model_config: The variant's ``model`` block.
        checkpoint_dir: Where the from-scratch tokenizer is kept for resumed runs (``None``:
            not kept).
        parameter: Full name of the ``model_name_or_path`` parameter, for error messages.
        seed: Seed of the new weights.

    Returns:
        The classifier (with its tokenizer) in training mode.
    """
    max_length = model_config.max_length
    torch.manual_seed(seed)
    if model_config.model_name_or_path:
        encoder, tokenizer = load_pretrained(
            model_config.model_name_or_path, max_length, parameter=parameter
        )
    else:
        scratch = model_config.from_scratch
        tokenizer = _scratch_tokenizer(
            train_products,
            scratch,
            max_length,
            None if checkpoint_dir is None else Path(checkpoint_dir),
        )
        encoder = CamembertModel(
            CamembertConfig(
                vocab_size=len(tokenizer),
                hidden_size=scratch.hidden_size,
                num_hidden_layers=scratch.num_hidden_layers,
                num_attention_heads=scratch.num_attention_heads,
                intermediate_size=scratch.intermediate_size,
                # RoBERTa-style position ids start after the padding index.
                max_position_embeddings=max_length + PAD_ID + 1,
                pad_token_id=PAD_ID,
                bos_token_id=BOS_ID,
                eos_token_id=EOS_ID,
                hidden_dropout_prob=scratch.hidden_dropout_prob,
                attention_probs_dropout_prob=scratch.attention_dropout_prob,
            )
        )
    return TextClassifier(
        encoder,
        tokenizer,
        codes,
        pooling=model_config.pooling,
        dropout=model_config.dropout,
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


@parses_params
def train_text_classifier(
    products: pd.DataFrame,
    codes: list[int],
    model_config: TransformerModel,
    training: TextTraining,
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
        model_config: The variant's ``model`` block.
        training: The variant's ``training`` block.
        checkpoint_dir: Checkpoint (and from-scratch tokenizer) folder for resume and reuse.
        name: Label for logs and progress bars (the variant).
        parameter: Full name of the ``model_name_or_path`` parameter, for error messages.

    Returns:
        ``(model, fit_result)``; the model holds the best epoch's weights, in eval mode.
    """
    train_rows, val_rows = _labelled(products, "train"), _labelled(products, "val")
    model = build_text_classifier(
        train_rows,
        codes,
        model_config,
        checkpoint_dir=checkpoint_dir,
        parameter=parameter,
        seed=training.seed,
    )
    pad_id = model.tokenizer.pad_token_id
    train_data = EncodedTexts(
        encode_products(train_rows, model.tokenizer, model.max_length), train_rows["label"]
    )
    val_data = EncodedTexts(
        encode_products(val_rows, model.tokenizer, model.max_length), val_rows["label"]
    )
    train_loader = text_loader(
        train_data, training.batch_size, pad_id, shuffle=True, num_workers=training.num_workers
    )
    val_loader = text_loader(val_data, training.inference_batch_size, pad_id, False)
    config = TrainConfig(
        epochs=training.epochs,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        mixed_precision=training.mixed_precision,
        patience=training.patience,
        seed=training.seed,
        checkpoint_dir=checkpoint_dir,
        cpu=training.cpu,
        max_grad_norm=training.max_grad_norm,
        progress=training.progress,
        fingerprint=text_fingerprint(
            {
                "model": learned_settings(model_config),
                "training": learned_settings(training),
                "codes": list(codes),
            },
            model.tokenizer,
            train_rows,
            val_rows,
        ),
        name=name,
        compile=training.compile,
        # Mean or CLS pooling leaves the encoder's pooler without gradients.
        find_unused_parameters=model.pooling != "pooler",
        max_batches_per_epoch=training.max_batches_per_epoch,
    )
    lr = scaled_lr(training.lr, training.scale_lr, cpu=training.cpu, name=name)
    optimizer = _adamw(model, lr, training.weight_decay)
    steps = optimizer_steps(
        train_loader, config.epochs, config.gradient_accumulation_steps,
        cpu=training.cpu, max_batches=training.max_batches_per_epoch,
    )  # fmt: skip
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=round(training.warmup_fraction * steps),
        num_training_steps=steps,
    )
    logger.info(
        "%s: training on %d rows, validating on %d (%s, %d parameters, max_length %d)",
        name,
        len(train_data),
        len(val_data),
        model_config.model_name_or_path or "from scratch",
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


@parses_params
def predict_texts(
    model: TextClassifier, products: pd.DataFrame, training: TextTraining
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and pooled features of each product, in table order.

    Args:
        model: A trained classifier.
        products: Rows with ``title`` and ``description``.
        training: The variant's ``training`` block (batch size, precision, device, progress).

    Returns:
        ``(probs [N, n_classes], features [N, hidden])``, float32, rows in table order.
    """
    if products.empty:
        return (
            np.zeros((0, len(model.codes)), np.float32),
            np.zeros((0, model.hidden_size), np.float32),
        )
    data = EncodedTexts(encode_products(products, model.tokenizer, model.max_length))
    loader = text_loader(
        data, training.inference_batch_size, model.tokenizer.pad_token_id, shuffle=False
    )
    probs, features = predict(
        model,
        loader,
        logits_fn=text_logits,
        features_fn=text_logits_and_features,
        mixed_precision=training.mixed_precision,
        cpu=training.cpu,
        progress=training.progress,
    )
    # The loader yields rows sorted by length; put them back in table order.
    restore = np.empty(len(data), dtype=np.int64)
    restore[inference_order(loader)] = np.arange(len(data))
    return probs[restore], features[restore]
