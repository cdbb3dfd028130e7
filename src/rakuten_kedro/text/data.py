"""Products → token ids → length-sorted, dynamically padded batches.

Titles are short and descriptions often empty: padding every row to ``max_length`` would spend
most of the compute on padding. Rows are tokenized once, batches group rows of similar length
(shuffled chunks sorted by length for training, fully sorted for inference) and are padded
only to their own longest row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

#: Training batches are drawn from chunks of this many batches sorted by length: random enough
#: to keep the gradient unbiased, sorted enough to avoid most padding.
SORT_CHUNK_BATCHES = 50


def product_texts(products: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The (title, description) pair of each product, empty descriptions as ``""``.

    Args:
        products: Table with ``title`` and ``description`` columns.

    Returns:
        ``(titles, descriptions)`` as lists of strings, in table order.
    """
    missing = {"title", "description"} - set(products.columns)
    if missing:
        raise KeyError(f"products table lacks column(s) {sorted(missing)}")
    titles = products["title"].fillna("").astype(str).tolist()
    descriptions = products["description"].fillna("").astype(str).tolist()
    return titles, descriptions


def encode_products(products: pd.DataFrame, tokenizer, max_length: int) -> list[list[int]]:
    """Token ids of each product's (title, description) pair in the tokenizer's pair format.

    Truncation is ``longest_first``: a long description is cut before the title loses tokens.
    An empty description still yields the pair layout (``<s> title </s></s></s>`` in RoBERTa
    format), so the model always sees the same structure.

    Args:
        products: Table with ``title`` and ``description``.
        tokenizer: A transformers tokenizer.
        max_length: Longest encoding, special tokens included.

    Returns:
        One list of token ids per row, in table order.
    """
    titles, descriptions = product_texts(products)
    if not titles:
        return []
    encoded = tokenizer(
        titles,
        descriptions,
        truncation="longest_first",
        max_length=max_length,
        add_special_tokens=True,
        return_attention_mask=False,
    )
    return encoded["input_ids"]


class EncodedTexts(Dataset):
    """Pre-tokenized rows, with optional labels.

    Args:
        input_ids: Token ids of each row.
        labels: Label index of each row, or ``None`` (test rows).
    """

    def __init__(self, input_ids: Sequence[Sequence[int]], labels: Sequence[int] | None = None):
        if labels is not None and len(labels) != len(input_ids):
            raise ValueError(f"{len(input_ids)} encoded rows but {len(labels)} labels")
        self.input_ids = [list(ids) for ids in input_ids]
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.lengths = np.array([len(ids) for ids in self.input_ids], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, index: int) -> dict:
        item = {"input_ids": self.input_ids[index]}
        if self.labels is not None:
            item["labels"] = int(self.labels[index])
        return item


class PadCollator:
    """Pads a batch to its longest row (dynamic padding).

    Args:
        pad_token_id: Id used for padding (masked out by ``attention_mask``).
    """

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(item["input_ids"]) for item in items)
        input_ids = torch.full((len(items), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(items), width), dtype=torch.long)
        for row, item in enumerate(items):
            ids = item["input_ids"]
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "labels" in items[0]:
            batch["labels"] = torch.tensor([item["labels"] for item in items], dtype=torch.long)
        return batch


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Batches of rows of similar length.

    With ``shuffle``: rows are shuffled, cut into chunks of ``SORT_CHUNK_BATCHES`` batches,
    each chunk sorted by length and cut into batches, and the batches shuffled. Randomness
    comes from torch's global generator, which the training loop reseeds every epoch (same
    batches after a resume). Without ``shuffle``: all rows sorted by decreasing length.

    Args:
        lengths: Token count of each row.
        batch_size: Rows per batch.
        shuffle: Randomise (training) or not (inference).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def _batches(self, order: np.ndarray) -> list[list[int]]:
        # Stable sort, longest first: the first batch is the largest, so memory errors show early.
        order = order[np.argsort(-self.lengths[order], kind="stable")]
        return [
            order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)
        ]

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            yield from self._batches(np.arange(n))
            return
        order = torch.randperm(n).numpy()
        chunk = self.batch_size * SORT_CHUNK_BATCHES
        batches = []
        for start in range(0, n, chunk):
            batches.extend(self._batches(order[start : start + chunk]))
        for index in torch.randperm(len(batches)).tolist():
            yield batches[index]


def text_loader(
    dataset: EncodedTexts,
    batch_size: int,
    pad_token_id: int,
    shuffle: bool,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader of length-grouped, dynamically padded batches.

    Args:
        dataset: Encoded rows.
        batch_size: Rows per batch.
        pad_token_id: The tokenizer's padding id.
        shuffle: ``True`` for training, ``False`` for inference (rows sorted by length; see
            :func:`inference_order` to restore table order).
        num_workers: DataLoader worker processes.

    Returns:
        The DataLoader.
    """
    return DataLoader(
        dataset,
        batch_sampler=LengthGroupedBatchSampler(dataset.lengths, batch_size, shuffle),
        collate_fn=PadCollator(pad_token_id),
        num_workers=num_workers,
    )


def inference_order(loader: DataLoader) -> np.ndarray:
    """Row indices in the order an unshuffled :func:`text_loader` yields them.

    Args:
        loader: A loader built by :func:`text_loader` with ``shuffle=False``.

    Returns:
        ``order`` such that output row ``k`` of the loader is dataset row ``order[k]``.
    """
    batches = [np.asarray(batch, dtype=np.int64) for batch in loader.batch_sampler]
    return np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
