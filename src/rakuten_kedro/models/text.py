"""The text classifier: a CamemBERT/RoBERTa-family encoder + the paper's bias-free linear head.

``TextClassifier`` carries its tokenizer and label codes, and saves as one folder:
the encoder's and tokenizer's ``save_pretrained`` files (loadable alone by transformers) plus
``classifier_head.safetensors`` and ``text_classifier.json`` (codes, pooling, max length).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel

HEAD_FILE = "classifier_head.safetensors"
META_FILE = "text_classifier.json"
POOLINGS = ("pooler", "mean", "cls")


class TextClassifier(nn.Module):
    """Encoder → pooled text vector → dropout → ``Linear(hidden, n_classes, bias=False)``.

    Args:
        encoder: A transformers encoder (``CamembertModel``, ``RobertaModel``, …).
        tokenizer: Its tokenizer (kept with the model so the pair is saved and loaded together).
        codes: Product type codes in label order (``label_encoding["codes"]``).
        pooling: ``"pooler"`` (the encoder's pooled output, as in the paper), ``"mean"``
            (masked mean of the last hidden states) or ``"cls"`` (first token's hidden state).
        dropout: Dropout before the head.
        max_length: Longest token sequence fed to the model.
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: Any,
        codes: list[int],
        *,
        pooling: str = "pooler",
        dropout: float = 0.1,
        max_length: int = 128,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if pooling == "pooler" and getattr(encoder, "pooler", None) is None:
            raise ValueError(
                f"{type(encoder).__name__} has no pooler layer; use pooling 'mean' or 'cls'"
            )
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.codes = [int(code) for code in codes]
        self.pooling = pooling
        self.max_length = int(max_length)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, len(self.codes), bias=False)

    @property
    def hidden_size(self) -> int:
        """Size of the pooled feature vector."""
        return self.encoder.config.hidden_size

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Class logits and pooled features of a batch.

        Args:
            input_ids: ``[B, T]`` token ids.
            attention_mask: ``[B, T]``, 1 for real tokens, 0 for padding.

        Returns:
            ``{"logits": [B, n_classes], "features": [B, hidden]}``.
        """
        output = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        if self.pooling == "pooler":
            features = output.pooler_output
        elif self.pooling == "cls":
            features = output.last_hidden_state[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(output.last_hidden_state.dtype)
            features = (output.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1)
        return {"logits": self.head(self.dropout(features)), "features": features}

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        """Writes encoder, tokenizer, head and settings into ``folder``.

        Args:
            folder: Target folder (created when missing).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        save_file({"weight": self.head.weight.detach().cpu().contiguous()}, folder / HEAD_FILE)
        meta = {
            "codes": self.codes,
            "pooling": self.pooling,
            "dropout": self.dropout.p,
            "max_length": self.max_length,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike) -> TextClassifier:
        """Loads a classifier written by :meth:`save_pretrained` (in eval mode, on the CPU).

        Args:
            folder: The saved folder.

        Returns:
            The classifier.
        """
        folder = Path(folder)
        missing = [
            name for name in (META_FILE, HEAD_FILE, "config.json") if not (folder / name).is_file()
        ]
        if missing:
            raise FileNotFoundError(
                f"{folder} is not a saved TextClassifier (missing {', '.join(missing)})"
            )
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if "auto_map" in config:
            raise ValueError(
                f"{folder / 'config.json'} names custom model code (auto_map "
                f"{config['auto_map']}); this project loads transformers' own architectures "
                "only and never runs code from a model folder. Nothing was loaded."
            )
        # Safetensors weights only and no repository code: loading a folder never runs code.
        encoder = AutoModel.from_pretrained(
            folder, dtype=torch.float32, use_safetensors=True, trust_remote_code=False
        )
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        model = cls(
            encoder,
            tokenizer,
            meta["codes"],
            pooling=meta["pooling"],
            dropout=meta["dropout"],
            max_length=meta["max_length"],
        )
        model.head.weight.data.copy_(load_file(folder / HEAD_FILE)["weight"])
        return model.eval()


def text_logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``logits_fn`` for the training loop."""
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])["logits"]


def text_logits_and_features(
    model: nn.Module, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``features_fn`` for ``predict``: logits and pooled features from one forward pass."""
    output = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return output["logits"], output["features"]


def text_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``loss_fn`` for the training loop: cross-entropy of the logits."""
    return nn.functional.cross_entropy(text_logits(model, batch).float(), batch["labels"])
