"""Pair encoding, length-grouped batching and dynamic padding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rakuten_kedro.text.data import (
    SORT_CHUNK_BATCHES,
    EncodedTexts,
    LengthGroupedBatchSampler,
    PadCollator,
    encode_products,
    inference_order,
    text_loader,
)
from rakuten_kedro.text.tokenizer import train_tokenizer
from tests.text.products import make_text_products


@pytest.fixture(scope="module")
def tokenizer():
    products = make_text_products(100)
    return train_tokenizer(
        products["title"].tolist() + products["description"].tolist(),
        vocab_size=800,
        min_frequency=1,
        max_length=64,
    )


def test_title_and_description_both_reach_the_model_in_pair_format(tokenizer):
    products = pd.DataFrame(
        {"title": ["piscine tubulaire", "livre poche"], "description": ["pompe filtre", ""]}
    )
    first, second = encode_products(products, tokenizer, max_length=64)
    tokens = tokenizer.convert_ids_to_tokens(first)
    # RoBERTa pair format: <s> title </s></s> description </s>
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    sep = tokens.index("</s>")
    assert tokens[sep + 1] == "</s>"
    assert tokenizer.decode(first[1:sep]).strip() == "piscine tubulaire"
    assert tokenizer.decode(first[sep + 2 : -1]).strip() == "pompe filtre"
    # An empty description keeps the pair layout, with an empty second segment.
    tokens = tokenizer.convert_ids_to_tokens(second)
    assert tokens[-3:] == ["</s>", "</s>", "</s>"]
    assert tokenizer.decode(second[1:-3]).strip() == "livre poche"


def test_missing_description_values_and_truncation_keep_the_title(tokenizer):
    products = pd.DataFrame({"title": ["piscine tubulaire"], "description": [None]}, dtype=object)
    (ids,) = encode_products(products, tokenizer, max_length=64)
    assert tokenizer.convert_ids_to_tokens(ids)[-3:] == ["</s>", "</s>", "</s>"]
    long = pd.DataFrame({"title": ["piscine tubulaire"], "description": ["pompe filtre " * 50]})
    (ids,) = encode_products(long, tokenizer, max_length=24)
    assert len(ids) == 24
    sep = tokenizer.convert_ids_to_tokens(ids).index("</s>")
    assert tokenizer.decode(ids[1:sep]).strip() == "piscine tubulaire"


def test_missing_column_is_named(tokenizer):
    with pytest.raises(KeyError, match="description"):
        encode_products(pd.DataFrame({"title": ["a"]}), tokenizer, 24)


def test_training_batches_cover_every_row_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 128, size=1000)
    sampler = LengthGroupedBatchSampler(lengths, batch_size=8, shuffle=True)
    torch.manual_seed(0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 125
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    # Sorting inside chunks makes batches far more uniform than random ones.
    spread = np.mean([np.ptp(lengths[batch]) for batch in batches])
    assert spread < 0.25 * np.ptp(lengths)
    torch.manual_seed(0)
    assert list(sampler) == batches  # reseeding the global RNG reproduces an epoch
    torch.manual_seed(1)
    assert list(sampler) != batches
    assert SORT_CHUNK_BATCHES > 1


def test_inference_batches_are_sorted_and_can_be_put_back_in_table_order():
    data = EncodedTexts([[0, 5, 2], [0, 5, 6, 7, 8, 2], [0, 2], [0, 5, 6, 2]], labels=[1, 0, 2, 1])
    loader = text_loader(data, batch_size=2, pad_token_id=1, shuffle=False)
    batches = list(loader)
    assert [b["input_ids"].shape for b in batches] == [(2, 6), (2, 3)]  # padded per batch
    order = inference_order(loader)
    assert order.tolist() == [1, 3, 0, 2]
    first = batches[0]
    assert first["attention_mask"].tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]
    assert first["input_ids"][1].tolist() == [0, 5, 6, 2, 1, 1]
    assert first["labels"].tolist() == [0, 1]


def test_collator_without_labels():
    batch = PadCollator(pad_token_id=1)([{"input_ids": [0, 2]}, {"input_ids": [0, 9, 2]}])
    assert set(batch) == {"input_ids", "attention_mask"}
    assert batch["input_ids"].tolist() == [[0, 2, 1], [0, 9, 2]]
