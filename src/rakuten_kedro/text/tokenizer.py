"""A CamemBERT/RoBERTa-style tokenizer trained from scratch on the training texts.

Byte-level BPE (no unknown characters, whatever the language or the symbols in a title) with
the RoBERTa special tokens at CamemBERT's ids (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>``
3, ``<mask>`` 4) and the RoBERTa pair format ``<s> title </s></s> description </s>``, wrapped
as a transformers fast tokenizer so that the from-scratch and pretrained paths share all code.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
BOS_ID, PAD_ID, EOS_ID = 0, 1, 2


def train_tokenizer(
    texts: Iterable[str], vocab_size: int = 4000, min_frequency: int = 2, max_length: int = 128
) -> PreTrainedTokenizerFast:
    """Trains a byte-level BPE tokenizer on ``texts``.

    Args:
        texts: Training texts (titles and descriptions of the training split only, so that
            validation rows stay unseen).
        vocab_size: Target vocabulary size, special tokens included.
        min_frequency: Minimum count for a merge to enter the vocabulary.
        max_length: Longest encoded sequence the model accepts (``model_max_length``).

    Returns:
        A ``PreTrainedTokenizerFast`` encoding pairs in RoBERTa format.
    """
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    # NFC so that "é" typed as one or as two code points becomes the same tokens.
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator((text for text in texts if text), trainer=trainer)
    if [tokenizer.token_to_id(token) for token in SPECIAL_TOKENS] != list(range(5)):
        raise RuntimeError("special tokens did not get ids 0..4; the tokenizer is inconsistent")
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", EOS_ID), ("<s>", BOS_ID), trim_offsets=True, add_prefix_space=True
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=max_length,
    )
