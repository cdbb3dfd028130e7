"""CPU threads: torch's default intra-op threads (one per core) vs a single thread.

On a CPU shared with other work, OpenMP threads that wait for each other at every operator
barrier can be descheduled, and a small convolution then takes many times longer with all
cores than with one. This script measures a ResNet18 training step at 32 px (the demo's
stage 1) and a demo-size text transformer step with each thread count, interleaved.

    python benchmarks/cpu_threads.py
"""

from __future__ import annotations

import os

import common
import torch
from image_training import resnet18


def resnet_steps(threads: int, steps: int = 2):
    model = resnet18().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 27, (64,), generator=torch.Generator().manual_seed(0))

    def run() -> None:
        torch.set_num_threads(threads)
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    return run


def main() -> dict:
    common.start("cpu_threads")
    default = len(os.sched_getaffinity(0))  # torch's default: one thread per usable core
    steps = 2
    one, many = common.compare(resnet_steps(1, steps), resnet_steps(default, steps), repeat=3)
    rows = [
        common.row(
            f"ResNet18 32 px train step: 1 thread vs {default}",
            64 * steps / one,
            "images/s",
            naive=64 * steps / many,
            note="batch 64; ratio > 1 means the default thread count loses on this machine now",
        )
    ]
    return common.finish(rows, default_threads=default)


if __name__ == "__main__":
    main()
