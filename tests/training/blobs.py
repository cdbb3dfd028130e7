"""Gaussian blobs, one per class: an easy problem a small MLP learns in a few epochs."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

NUM_CLASSES, DIM = 4, 8


class Blobs(Dataset):
    """``n`` points around ``NUM_CLASSES`` fixed centres; ``seed`` draws the noise."""

    def __init__(self, n: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        centers = torch.randn(NUM_CLASSES, DIM, generator=torch.Generator().manual_seed(0)) * 3
        self.labels = torch.arange(n) % NUM_CLASSES
        self.x = centers[self.labels] + torch.randn(n, DIM, generator=gen)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.labels[i]}
