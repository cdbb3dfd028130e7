"""bf16 autocast vs fp32 on the CPU: text transformer and ResNet training steps.

bf16 pays off on CPUs with native bf16 instructions (AVX512-BF16, e.g. AMD Zen 4 / Intel
Cooper Lake; AMX-BF16 on Intel Sapphire Rapids and later). The script reports what the CPU
offers and labels the ratio "not applicable on this CPU" when it has neither, with the
measured ratio anyway. The project's training loop leaves
mixed precision off on CPU (``mixed_precision: auto`` → ``no``).

    python benchmarks/precision_bf16.py
"""

from __future__ import annotations

import common
import torch
from image_training import resnet18
from text_model import build

from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.models.text import text_loss


def train_steps(model, make_loss, steps: int, dtype: torch.dtype | None):
    """A callable running ``steps`` training steps (forward, backward, SGD step)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def run() -> None:
        model.train()
        for _ in range(steps):
            with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
                loss = make_loss(model)
            loss.float().backward()
            optimizer.step()
            optimizer.zero_grad()

    return run


def forward_steps(model, make_loss, steps: int, dtype: torch.dtype | None):
    """A callable running ``steps`` inference forward passes."""

    def run() -> None:
        model.eval()
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None),
        ):
            for _ in range(steps):
                make_loss(model)

    return run


def bf16_vs_fp32(make, model, loss, steps: int) -> tuple[float, float]:
    """Best seconds ``(bf16, fp32)`` of ``make(model, loss, steps, dtype)``, interleaved."""
    return common.compare(
        make(model, loss, steps, torch.bfloat16), make(model, loss, steps, None), repeat=3
    )


def main(argv: list[str] | None = None) -> dict:
    common.start("precision_bf16")

    support = common.bf16_support()
    applicable = support["fast_bf16_expected"]
    label = (
        f"native bf16 on this CPU: {', '.join(support['bf16_flags'])}"
        if applicable
        else "NOT APPLICABLE on this CPU (no AVX512-BF16 / AMX-BF16); measured anyway"
    )
    products = common.demo_products(common.demo_dir(600))
    generator = torch.Generator().manual_seed(0)

    # Text: the demo transformer and a larger one, on fixed full-length batches.
    rows = []
    for hidden, layers, width in ((64, 2, 64), (256, 4, 128)):
        model, _ = build(products, list(PRDTYPECODES), width, hidden, layers)
        ids = torch.randint(5, len(model.tokenizer), (32, width), generator=generator)
        batch = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "labels": torch.randint(0, 27, (32,), generator=generator),
        }

        def text_step(m, batch=batch):
            return text_loss(m, batch)

        bf16, fp32 = bf16_vs_fp32(train_steps, model, text_step, 3)
        rows.append(
            common.row(
                f"text train h{hidden} L{layers} T{width}: bf16 vs fp32",
                32 * 3 / bf16,
                "samples/s",
                naive=32 * 3 / fp32,
                note=label,
            )
        )

    # Image: ResNet18 (the demo's) at 64 px, batch 32.
    model = resnet18()
    images = torch.rand(32, 3, 64, 64, generator=generator)
    labels = torch.randint(0, 27, (32,), generator=generator)

    def image_step(m):
        return torch.nn.functional.cross_entropy(m(images).float(), labels)

    bf16, fp32 = bf16_vs_fp32(train_steps, model, image_step, 2)
    rows.append(
        common.row(
            "ResNet18 64 px train: bf16 vs fp32", 32 * 2 / bf16, "images/s", naive=32 * 2 / fp32,
            note=label,
        )
    )  # fmt: skip
    bf16, fp32 = bf16_vs_fp32(forward_steps, model, image_step, 4)
    rows.append(
        common.row(
            "ResNet18 64 px inference: bf16 vs fp32", 32 * 4 / bf16, "images/s",
            naive=32 * 4 / fp32, note=label,
        )
    )  # fmt: skip
    return common.finish(rows, bf16_support=support, applicable=applicable)


if __name__ == "__main__":
    main()
