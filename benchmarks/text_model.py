"""Text model: length-sorted dynamic padding vs padding every row to ``max_length``.

A small from-scratch transformer (the demo's ``conf/base`` sizes unless overridden) is trained
for a few epochs on the demo training rows with the project's batching
(``rakuten_kedro.text.data.text_loader``: length-grouped batches padded to their longest row)
and with the naive batching (random batches padded to ``max_length``). Throughput is counted
in real (non-padding) tokens per second, the same work in both cases, so the ratio is the
speed-up. The same comparison is made for inference (forward only), and ``predict_texts``
gives the end-to-end products/s of prediction.

    python benchmarks/text_model.py [--n 600] [--max-length 64] [--hidden 64] [--layers 2]
    python benchmarks/text_model.py --hidden 256 --layers 4 --max-length 128 --tag larger
"""

from __future__ import annotations

import argparse

import common
import torch
from torch.utils.data import DataLoader

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.config import DEFAULT_SEED
from rakuten_kedro.models.text import text_logits, text_loss
from rakuten_kedro.text.data import EncodedTexts, PadCollator, encode_products, text_loader
from rakuten_kedro.text.transformer import build_text_classifier, predict_texts


def scratch_model(max_length: int, hidden: int, layers: int) -> dict:
    """``text_transformer.model`` of conf/base (from scratch) at the given sizes."""
    sizes = {"hidden_size": hidden, "num_hidden_layers": layers, "intermediate_size": 2 * hidden}
    return common.params("text_transformer.model", max_length=max_length, from_scratch=sizes)


def inference_settings(batch_size: int) -> dict:
    """``text_transformer.training`` of conf/base predicting ``batch_size`` rows per batch."""
    return common.params(
        "text_transformer.training", eval_batch_size=batch_size, cpu=True, progress=False
    )


def build(products, codes: list[int], max_length: int, hidden: int, layers: int):
    """The classifier, the encoded train rows and both loaders' ingredients."""

    train = products[products["split"] == "train"]
    model = build_text_classifier(
        train, codes, scratch_model(max_length, hidden, layers), seed=DEFAULT_SEED
    )
    data = EncodedTexts(encode_products(train, model.tokenizer, max_length), train["label"])
    return model, data


def padded_loader(data, batch_size: int, pad_id: int, width: int, shuffle: bool) -> DataLoader:
    """The naive batching: random batches, every row padded to ``width`` (= max_length)."""

    class PadToMax(PadCollator):
        def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
            batch = super().__call__(items)
            extra = width - batch["input_ids"].shape[1]
            if extra > 0:
                batch["input_ids"] = torch.nn.functional.pad(
                    batch["input_ids"], (0, extra), value=self.pad_token_id
                )
                batch["attention_mask"] = torch.nn.functional.pad(
                    batch["attention_mask"], (0, extra)
                )
            return batch

    generator = torch.Generator().manual_seed(0)
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=PadToMax(pad_id),
        generator=generator,
    )


def train_epochs(model, loader, epochs: int, dtype: torch.dtype | None = None):
    """A callable that trains ``epochs`` epochs over ``loader`` (AdamW, as the project does)."""

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def run() -> None:
        model.train()
        for _ in range(epochs):
            for batch in loader:
                with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
                    loss = text_loss(model, batch)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()

    return run


def forward_pass(model, loader, dtype: torch.dtype | None = None):
    """A callable that runs one inference pass over ``loader``."""

    def run() -> None:
        model.eval()
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None),
        ):
            for batch in loader:
                text_logits(model, batch)

    return run


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="labelled products")
    parser.add_argument("--max-length", type=int, default=64, help="conf/base: 64")
    parser.add_argument("--hidden", type=int, default=64, help="conf/base: 64")
    parser.add_argument("--layers", type=int, default=2, help="conf/base: 2")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--tag", default="", help="suffix of the result name (other sizes)")
    args = parser.parse_args(argv)
    common.start("text_model" + (f"_{args.tag}" if args.tag else ""))

    products = common.demo_products(common.demo_dir(args.n))
    model, data = build(products, list(PRDTYPECODES), args.max_length, args.hidden, args.layers)
    pad_id, batch = model.tokenizer.pad_token_id, 32
    real_tokens = int(data.lengths.sum())
    padded_tokens = len(data) * args.max_length

    torch.manual_seed(0)
    sorted_train, naive_train = common.compare(
        train_epochs(model, text_loader(data, batch, pad_id, True), args.epochs),
        train_epochs(model, padded_loader(data, batch, pad_id, args.max_length, True), args.epochs),
        repeat=2,
    )
    sorted_fwd, naive_fwd = common.compare(
        forward_pass(model, text_loader(data, 128, pad_id, False)),
        forward_pass(model, padded_loader(data, 128, pad_id, args.max_length, False)),
    )
    val = products[products["split"] == "val"]
    predict_s = common.timeit(
        lambda: predict_texts(model, products, inference_settings(128)),
        repeat=3,
    )

    size = f"hidden {args.hidden}, {args.layers} layers, max_length {args.max_length}"
    rows = [
        common.row(
            "train: length-sorted dynamic vs pad to max_length",
            real_tokens * args.epochs / sorted_train,
            "real tokens/s",
            naive=real_tokens * args.epochs / naive_train,
            note=f"{len(data)} rows, batch {batch}, {size}; mean length "
            f"{data.lengths.mean():.1f} of {args.max_length} "
            f"({100 * (1 - real_tokens / padded_tokens):.0f} % of max-padded tokens are padding)",
        ),
        common.row(
            "train: samples/s (length-sorted dynamic)",
            len(data) * args.epochs / sorted_train,
            "samples/s",
        ),
        common.row(
            "forward: length-sorted dynamic vs pad to max_length",
            real_tokens / sorted_fwd,
            "real tokens/s",
            naive=real_tokens / naive_fwd,
            note="inference mode, batch 128",
        ),
        common.row(
            f"predict_texts ({len(products)} products, batch 128)",
            len(products) / predict_s,
            "products/s",
            note="tokenize + sorted batches + accelerate predict + reorder",
        ),
    ]
    return common.finish(
        rows,
        params={**vars(args), "train_rows": len(data), "val_rows": len(val), "batch": batch},
    )


if __name__ == "__main__":
    main()
