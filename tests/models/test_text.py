"""TextClassifier: the paper's head, pooling, save/load, and the pretrained path offline."""

from __future__ import annotations

import time

import pytest
import torch
from huggingface_hub import constants as hub_constants

from rakuten_kedro.models.text import TextClassifier, text_logits_and_features
from rakuten_kedro.text.pretrained import (
    PretrainedModelNotFound,
    hub_is_reachable,
    load_pretrained,
)
from rakuten_kedro.text.transformer import build_text_classifier
from tests.text.products import CODES, TINY_MODEL, make_text_products


@pytest.fixture(scope="module")
def products():
    return make_text_products(60)


def tiny(products, pooling="mean"):
    return build_text_classifier(products, CODES, {**TINY_MODEL, "pooling": pooling}, seed=0)


def batch_of(model, texts):
    encoded = model.tokenizer(
        [t for t, _ in texts], [d for _, d in texts], padding=True, return_tensors="pt"
    )
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}


@pytest.mark.parametrize("pooling", ["pooler", "mean", "cls"])
def test_head_is_bias_free_linear_on_the_pooled_features(products, pooling):
    model = tiny(products, pooling).eval()
    assert model.head.bias is None
    assert model.head.weight.shape == (len(CODES), 32)
    batch = batch_of(model, [("piscine tubulaire", "pompe"), ("livre", "")])
    logits, features = text_logits_and_features(model, batch)
    assert logits.shape == (2, len(CODES)) and features.shape == (2, 32)
    torch.testing.assert_close(logits, features @ model.head.weight.T)


def test_mean_pooling_ignores_padding(products):
    model = tiny(products, "mean").eval()
    alone = batch_of(model, [("livre", "")])
    padded = batch_of(model, [("livre", ""), ("piscine tubulaire bâche pompe", "filtre " * 5)])
    with torch.no_grad():
        a = model(**alone)["features"][0]
        b = model(**padded)["features"][0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_unknown_pooling_is_rejected(products):
    with pytest.raises(ValueError, match=r"pooling: 'max': Input should be 'pooler', 'mean' or"):
        tiny(products, "max")


def test_save_and_load_give_the_same_logits(products, tmp_path):
    model = tiny(products).eval()
    batch = batch_of(model, [("carte pokemon", "booster rare"), ("livre neuf", "")])
    model.save_pretrained(tmp_path / "model")
    loaded = TextClassifier.from_pretrained(tmp_path / "model")
    assert loaded.codes == CODES and loaded.max_length == 32 and loaded.pooling == "mean"
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch)["logits"], model(**batch)["logits"])
    assert loaded.tokenizer("livre")["input_ids"] == model.tokenizer("livre")["input_ids"]


def test_loading_a_folder_that_is_not_a_model_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="text_classifier.json"):
        TextClassifier.from_pretrained(tmp_path)


def test_offline_without_local_copy_fails_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert not hub_is_reachable()
    started = time.perf_counter()
    with pytest.raises(PretrainedModelNotFound) as error:
        build_text_classifier(
            make_text_products(20),
            CODES,
            {**TINY_MODEL, "model_name_or_path": "camembert-base"},
            parameter="text_transformer.model.model_name_or_path",
            seed=0,
        )
    assert time.perf_counter() - started < 10
    message = str(error.value)
    assert "'camembert-base'" in message and "unreachable" in message
    assert "hf download camembert-base --local-dir /models/camembert-base" in message
    assert "huggingface-cli download camembert-base --local-dir" in message
    assert "text_transformer.model.model_name_or_path=/models/camembert-base" in message


def test_missing_local_folder_is_reported(tmp_path):
    with pytest.raises(PretrainedModelNotFound, match="does not exist"):
        load_pretrained(str(tmp_path / "camembert-base"), max_length=128)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PretrainedModelNotFound, match="has no config.json"):
        load_pretrained(str(tmp_path / "empty"), max_length=128)


def test_a_local_pretrained_folder_is_loaded(products, tmp_path):
    # A saved encoder + tokenizer folder stands for a downloaded camembert-base.
    source = tiny(products, "pooler")
    source.encoder.save_pretrained(tmp_path / "encoder")
    source.tokenizer.save_pretrained(tmp_path / "encoder")
    model = build_text_classifier(
        products,
        CODES,
        {**TINY_MODEL, "model_name_or_path": str(tmp_path / "encoder"), "max_length": 16,
         "pooling": "pooler"},
        seed=0,
    )  # fmt: skip
    for name, tensor in source.encoder.state_dict().items():
        torch.testing.assert_close(model.encoder.state_dict()[name], tensor)
    assert model.tokenizer.model_max_length == 16
    with pytest.raises(ValueError, match="exceeds what"):
        load_pretrained(str(tmp_path / "encoder"), max_length=128)
