"""Run by ``test_multiprocess.py`` under ``accelerate launch`` (one copy per process), or alone.

Trains a tiny bag-of-embeddings classifier with :func:`rakuten_kedro.training.fit` on
length-grouped batches (the text model's loader), then predicts the test rows with
:func:`rakuten_kedro.training.predict`. The sizes leave partial last batches and odd numbers of
batches, so accelerate pads the processes' shards. Process 0 saves, to ``argv[1]``, the gathered
predictions (restored to table order), the row numbers that came back with them, and the same
model's predictions computed row by row without accelerate; ``argv[2]`` is the checkpoint
folder.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
from accelerate import PartialState
from torch import nn

from rakuten_kedro.text.data import EncodedTexts, inference_order, text_loader
from rakuten_kedro.training import TrainConfig, fit, predict, scaled_lr
from rakuten_kedro.training.metrics import macro_f1

NUM_CLASSES, VOCAB, N_TRAIN, N_VAL, N_TEST, BATCH = 3, 30, 150, 43, 35, 8
SGD_LR, SGD_EPOCHS = 0.05, 2


def rows(n: int, seed: int) -> tuple[list[list[int]], np.ndarray]:
    """Rows of 2 to 11 token ids, mostly from their label's block of 10 ids, some from others."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % NUM_CLASSES
    ids = []
    for label in labels:
        blocks = np.where(rng.random(rng.integers(2, 12)) < 0.6, label, rng.integers(0, 3))
        ids.append([int(b) * 10 + int(rng.integers(0, 10)) for b in blocks])
    return ids, labels


class BagClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(VOCAB + 1, 16, mode="mean", padding_idx=VOCAB)
        self.head = nn.Linear(16, NUM_CLASSES)
        self.unused = nn.Linear(4, 4)  # gets no gradient, like an encoder's unused pooler

    def forward(self, batch):
        return self.head(self.embed(batch["input_ids"]))


def loss_fn(model, batch):
    return nn.functional.cross_entropy(model(batch), batch["labels"])


def logits_fn(model, batch):
    return model(batch)


def main(out_path: str, checkpoint_dir: str) -> None:
    torch.set_num_threads(1)
    train_ids, train_labels = rows(N_TRAIN, 0)
    val_ids, val_labels = rows(N_VAL, 1)
    test_ids, _ = rows(N_TEST, 2)
    # Test "labels" are the row numbers: predict never reads labels, and they come back as
    # features, showing which rows the gathered outputs belong to.
    test = EncodedTexts(test_ids, np.arange(N_TEST))
    train_loader = text_loader(EncodedTexts(train_ids, train_labels), BATCH, VOCAB, shuffle=True)
    val_loader = text_loader(EncodedTexts(val_ids, val_labels), BATCH, VOCAB, shuffle=False)
    test_loader = text_loader(test, BATCH, VOCAB, shuffle=False)
    config = TrainConfig(
        epochs=3, cpu=True, progress=False, checkpoint_dir=checkpoint_dir,
        find_unused_parameters=True,  # its `unused` layer, like an encoder's unused pooler
    )  # fmt: skip
    results = []
    for _ in range(2):  # the second call finds process 0's finished checkpoint on every process
        torch.manual_seed(0)
        model = BagClassifier()
        results.append(
            fit(
                model,
                train_loader,
                val_loader,
                optimizer=torch.optim.Adam(model.parameters(), lr=0.05),
                scheduler=None,
                loss_fn=loss_fn,
                logits_fn=logits_fn,
                config=config,
            )
        )
    sgd_score = fit_with_sgd(train_loader, val_loader, os.environ.get("SCALE_LR", "linear"))
    model = results[0].model
    probs, row_ids = predict(
        model,
        test_loader,
        logits_fn=logits_fn,
        features_fn=lambda m, batch: (m(batch), batch["labels"].float()[:, None]),
        cpu=True,
        progress=False,
    )
    state = PartialState()
    if state.is_main_process:
        restore = np.empty(N_TEST, dtype=np.int64)
        restore[inference_order(test_loader)] = np.arange(N_TEST)
        val_pred = one_by_one(model, val_ids).argmax(1)
        np.savez(
            out_path,
            probs=probs[restore],
            row_ids=row_ids[restore, 0],
            plain=one_by_one(model, test_ids),
            val_score=macro_f1(val_labels, val_pred, NUM_CLASSES),
            best_score=results[0].best_score,
            resumed_score=results[1].best_score,
            resumed_epochs=len(results[1].history),
            processes=state.num_processes,
            sgd_score=sgd_score,
        )
    state.wait_for_everyone()
    state.destroy_process_group()


def fit_with_sgd(train_loader, val_loader, scale_lr: str) -> float:
    """Best validation macro-F1 of plain SGD at a rate scaled for the launch by ``scale_lr``."""
    torch.manual_seed(0)
    model = BagClassifier()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=scaled_lr(SGD_LR, scale_lr, cpu=True), momentum=0.9
    )
    config = TrainConfig(epochs=SGD_EPOCHS, cpu=True, progress=False, find_unused_parameters=True)
    result = fit(
        model, train_loader, val_loader, optimizer=optimizer, scheduler=None, loss_fn=loss_fn,
        logits_fn=logits_fn, config=config,
    )  # fmt: skip
    return result.best_score


def one_by_one(model: nn.Module, ids: list[list[int]]) -> np.ndarray:
    """The model's probabilities, one row at a time in table order, without accelerate."""
    with torch.inference_mode():
        rows = [torch.softmax(model({"input_ids": torch.tensor([row])}), -1) for row in ids]
    return torch.cat(rows).numpy()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
