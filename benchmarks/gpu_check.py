"""One command for the first hour on a GPU: throughput, memory and FLOP/s of the paper's models.

    make gpu-check                          # = python benchmarks/gpu_check.py (≤ 8 min, one GPU)
    python benchmarks/gpu_check.py --smoke  # tiny sizes on any device (seconds on a CPU)

On a GPU it measures, at the ``conf/rakuten`` batch sizes with the project's own loss functions
and augmentation: training and inference throughput of a camembert-base-shaped encoder at 128
tokens and of ResNet152 at 224 and 448 px (bf16 autocast, channels-last), the training steps
again under ``torch.compile`` and with ``cudnn.benchmark``, DCL's extra cost (``dcl_loss_fn``
against the plain loss on the same model and batch), ResNet50 at 224 px (denoising), the
DataLoader over a memory-mapped cache with 0/4/8 workers, the image cache build rate, the peak
GPU memory of each stage and the achieved TFLOP/s against the device's peak. Every stage has
a time budget and the whole run a deadline: stages that no longer fit are skipped and say so.
It writes ``results/gpu_check.json``, then rewrites the README planning table from the
measured figures (``planning.py --throughput``). Models are randomly initialised: speed does
not depend on the weights. Without a GPU it says so and exits 0, measuring nothing.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import common
import numpy as np
import planning
import torch
from torch.utils.flop_counter import FlopCounterMode

from rakuten_kedro import config
from rakuten_kedro.codes import PRDTYPECODES
from rakuten_kedro.models.image import ResNetClassifier
from rakuten_kedro.models.text import TextClassifier, text_logits, text_loss
from rakuten_kedro.training.loop import COMPILE_BACKEND, resolve_mixed_precision
from rakuten_kedro.vision.data import CachedImageDataset, image_loader
from rakuten_kedro.vision.train import (
    ImageInputs,
    dcl_loss_fn,
    logits_fn,
    plain_loss_fn,
    sgd_with_step_decay,
)

NO_GPU = "no GPU: nothing measured (run `make gpu-check` on a machine with a CUDA GPU)"
#: Dense bf16 tensor-core peak in TFLOP/s by device name, most specific name first
#: (vendor datasheets; sparsity figures halved).
PEAK_BF16_TFLOPS = (
    ("H200 NVL", 835.0),
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("RTX 4090", 165.2),
    ("A10", 125.0),
)
#: Which measured stage replaces which estimate of ``planning.FIGURES`` (eager steps: the
#: configured runs have ``compile: false``).
PLANNING_STAGES = {
    "text_train": "text_base",
    "denoising_train": "denoise_r50_224",
    "stage1_train": "image_224",
    "stage2_train": "image_448",
    "stage2_dcl_train": "image_448_dcl",
    "cache_build": "cache",
}


@dataclass(frozen=True)
class Sizes:
    """Model shapes, batch sizes and time budgets of one check."""

    encoder: dict[str, int]  # CamembertConfig arguments ({} = camembert-base)
    tokens: int
    text_batch: int
    text_eval_batch: int
    depth: int
    denoise_depth: int
    sizes: tuple[int, int]  # stage 1 and stage 2 input sizes
    batch_low: int
    eval_low: int
    batch_high: int
    batch_dcl: int
    eval_high: int
    denoise_batch: int
    loader_rows: dict[int, int]  # rows of the synthetic memory-mapped cache per size
    loader_workers: tuple[int, ...]
    cache_photos: int
    photo_size: int
    stage_seconds: float  # timed steps per stage (after warm-up)
    min_steps: int
    warmup_steps: int
    compile_backend: str
    total_seconds: float  # deadline of the whole check
    compile_reserve_s: dict[str, float]  # a compiled stage starts only with this much time left


def full_sizes(params: dict) -> Sizes:
    """The paper-size check, with the batch sizes of ``conf/rakuten``."""
    text = params["text_transformer"]
    stage1 = params["image_dcl_clean"]["stage1"]
    dcl_stage, plain_stage = (
        params["image_dcl_clean"]["stage2"],
        params["image_plain_noisy"]["stage2"],
    )
    denoise = params["denoising"]["train"]
    return Sizes(
        encoder={},
        tokens=int(text["model"]["max_length"]),
        text_batch=int(text["training"]["batch_size"]),
        text_eval_batch=int(text["training"]["eval_batch_size"]),
        depth=int(params["image_dcl_clean"]["model"]["depth"]),
        denoise_depth=int(params["denoising"]["model"]["depth"]),
        sizes=(int(stage1["input_size"]), int(dcl_stage["input_size"])),
        batch_low=int(stage1["batch_size"]),
        eval_low=int(stage1["eval_batch_size"]),
        batch_high=int(plain_stage["batch_size"]),
        batch_dcl=int(dcl_stage["batch_size"]),
        eval_high=int(dcl_stage["eval_batch_size"]),
        denoise_batch=int(denoise["batch_size"]),
        loader_rows={int(stage1["input_size"]): 4096, int(dcl_stage["input_size"]): 2048},
        loader_workers=(0, 4, int(params["image_dcl_clean"]["run"]["num_workers"])),
        cache_photos=540,
        photo_size=500,
        stage_seconds=6.0,
        min_steps=3,
        warmup_steps=3,
        compile_backend=COMPILE_BACKEND,
        total_seconds=430.0,
        compile_reserve_s={"image": 180.0, "text": 90.0},
    )


def smoke_sizes() -> Sizes:
    """Tiny shapes that run every code path on a CPU in seconds (tests)."""
    return Sizes(
        encoder={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 1000,
            "max_position_embeddings": 40,
        },
        tokens=16,
        text_batch=4,
        text_eval_batch=8,
        depth=18,
        denoise_depth=18,
        sizes=(32, 64),
        batch_low=4,
        eval_low=8,
        batch_high=4,
        batch_dcl=2,
        eval_high=4,
        denoise_batch=4,
        loader_rows={32: 64, 64: 32},
        loader_workers=(0, 1),
        cache_photos=54,
        photo_size=64,
        stage_seconds=0.0,
        min_steps=1,
        warmup_steps=1,
        compile_backend="eager",
        total_seconds=300.0,
        compile_reserve_s={"image": 0.0, "text": 0.0},
    )


def peak_bf16_tflops(device_name: str) -> float | None:
    """The device's dense bf16 peak from ``PEAK_BF16_TFLOPS`` (None: not in the table)."""
    for name, tflops in PEAK_BF16_TFLOPS:
        if name.lower() in device_name.lower():
            return tflops
    return None


# -- timing -----------------------------------------------------------------------------------


@dataclass
class Context:
    """What every stage needs: device, autocast dtype, sizes, the device's peak."""

    device: torch.device
    dtype: torch.dtype | None
    sizes: Sizes
    peak_tflops: float | None
    scratch: Path
    text_training: config.TextTraining  # text_transformer.training of --env rakuten
    image_stage: config.Stage  # image_dcl_clean.stage1 (optimiser settings)
    augment: config.Augment  # image_dcl_clean.augment
    dcl: config.DCL  # image_dcl_clean.stage2.dcl

    def autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def timed_steps(ctx: Context, step: Callable[[], Any], warmup: int) -> tuple[int, float, float]:
    """``(steps, seconds, first_step_seconds)``: warm-up, then steps for ``stage_seconds``.

    The first warm-up step is timed alone (under ``torch.compile`` it is the compilation).
    """
    t0 = time.perf_counter()
    step()
    ctx.sync()
    first = time.perf_counter() - t0
    for _ in range(warmup - 1):
        step()
    ctx.sync()
    steps, t0 = 0, time.perf_counter()
    while steps < ctx.sizes.min_steps or time.perf_counter() - t0 < ctx.sizes.stage_seconds:
        step()
        steps += 1
    ctx.sync()
    return steps, time.perf_counter() - t0, first


def flops_of(run: Callable[[], Any]) -> int:
    """FLOPs (matmuls, convolutions, attention) of one call, counted by torch."""
    with FlopCounterMode(display=False) as counter:
        run()
    return int(counter.get_total_flops())


def throughput_record(
    ctx: Context, step: Callable[[], Any], batch: int, *, unit: str, flops_step: Callable[[], Any]
) -> dict[str, Any]:
    """Samples/s of ``step``, its peak GPU memory and its achieved TFLOP/s."""
    if ctx.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(ctx.device)
    steps, seconds, first = timed_steps(ctx, step, ctx.sizes.warmup_steps)
    rate = steps * batch / seconds
    flops_per_sample = flops_of(flops_step) / batch
    achieved = flops_per_sample * rate / 1e12
    return {
        "value": rate,
        "unit": unit,
        "batch": batch,
        "steps": steps,
        "step_seconds": seconds / steps,
        "first_step_seconds": first,
        "peak_gpu_memory_gb": (
            torch.cuda.max_memory_allocated(ctx.device) / 1e9 if ctx.device.type == "cuda" else None
        ),
        "gflops_per_sample": flops_per_sample / 1e9,
        "achieved_tflops": achieved,
        "utilisation": achieved / ctx.peak_tflops if ctx.peak_tflops else None,
    }


# -- models and batches -----------------------------------------------------------------------


def text_model(ctx: Context) -> TextClassifier:
    """A camembert-base-shaped classifier (random weights), the paper's pooler head."""
    from transformers import CamembertConfig, CamembertModel  # noqa: PLC0415

    torch.manual_seed(0)
    encoder = CamembertModel(CamembertConfig(**ctx.sizes.encoder))
    model = TextClassifier(encoder, None, list(PRDTYPECODES), max_length=ctx.sizes.tokens)
    return model.to(ctx.device)


def text_batch(ctx: Context, model: TextClassifier, batch: int) -> dict[str, torch.Tensor]:
    """Full-length sequences: an upper bound of the cost (real batches are padded shorter)."""
    ids = torch.randint(5, model.encoder.config.vocab_size, (batch, ctx.sizes.tokens))
    return {
        "input_ids": ids.to(ctx.device),
        "attention_mask": torch.ones_like(ids, device=ctx.device),
        "labels": torch.randint(0, len(PRDTYPECODES), (batch,), device=ctx.device),
    }


def image_model(ctx: Context, depth: int, dcl: bool = False) -> ResNetClassifier:
    """A ResNet classifier (random weights), channels-last on a GPU as the training does."""
    torch.manual_seed(0)
    grid = ctx.dcl.grid if dcl else None
    model = ResNetClassifier(depth, len(PRDTYPECODES), dcl_grid=grid).to(ctx.device)
    if ctx.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def image_batch(ctx: Context, size: int, batch: int) -> dict[str, torch.Tensor]:
    """Cache rows as the loader delivers them: uint8 (B, S, S, 3), on the device."""
    images = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8)
    return {
        "images": images.to(ctx.device),
        "labels": torch.randint(0, len(PRDTYPECODES), (batch,), device=ctx.device),
    }


# -- steps ------------------------------------------------------------------------------------


def train_step(
    ctx: Context,
    model: torch.nn.Module,
    optimizer: Any,
    loss_fn: Callable,
    batch: dict,
    *,
    max_grad_norm: float | None = None,
) -> Callable[[], None]:
    """One optimisation step as the training loop does it (autocast, clipping, zero grad)."""

    def step() -> None:
        with ctx.autocast():
            loss = loss_fn(model, batch)
        loss.backward()
        if max_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def forward_backward(ctx: Context, model: torch.nn.Module, loss_fn: Callable, batch: dict):
    """Forward and backward only (what the FLOP count covers)."""

    def run() -> None:
        with ctx.autocast():
            loss = loss_fn(model, batch)
        loss.backward()
        model.zero_grad(set_to_none=True)

    return run


def inference(ctx: Context, model: torch.nn.Module, fn: Callable, batch: dict):
    """One inference forward pass (eval mode, no autograd)."""
    model.eval()

    def run() -> None:
        with torch.inference_mode(), ctx.autocast():
            fn(model, batch)

    return run


def _compiled(ctx: Context, model: torch.nn.Module, compiled: bool) -> torch.nn.Module:
    return torch.compile(model, backend=ctx.sizes.compile_backend) if compiled else model


# -- stages -----------------------------------------------------------------------------------


def text_train(ctx: Context, compiled: bool = False) -> dict[str, Any]:
    model = text_model(ctx).train()
    training = ctx.text_training
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=training.lr, weight_decay=training.weight_decay
    )
    batch = text_batch(ctx, model, ctx.sizes.text_batch)
    net = _compiled(ctx, model, compiled)
    step = train_step(ctx, net, optimizer, text_loss, batch, max_grad_norm=training.max_grad_norm)
    return throughput_record(
        ctx,
        step,
        ctx.sizes.text_batch,
        unit="samples/s",
        flops_step=forward_backward(ctx, model, text_loss, batch),
    )


def text_inference(ctx: Context) -> dict[str, Any]:
    model = text_model(ctx)
    batch = text_batch(ctx, model, ctx.sizes.text_eval_batch)
    run = inference(ctx, model, text_logits, batch)
    return throughput_record(ctx, run, ctx.sizes.text_eval_batch, unit="samples/s", flops_step=run)


def image_train(  # noqa: PLR0913 - one stage per combination
    ctx: Context,
    depth: int,
    size: int,
    batch_size: int,
    *,
    dcl_model: bool = False,
    dcl_loss: bool = False,
    compiled: bool = False,
    cudnn_benchmark: bool = False,
) -> dict[str, Any]:
    """Training steps with the project's loss (plain or DCL) and GPU augmentation."""
    torch.backends.cudnn.benchmark = cudnn_benchmark
    try:
        model = image_model(ctx, depth, dcl=dcl_model).train()
        inputs = ImageInputs(ctx.augment, size)
        loss_fn = dcl_loss_fn(inputs, ctx.dcl) if dcl_loss else plain_loss_fn(inputs)
        optimizer, _ = sgd_with_step_decay(
            model,
            lr=ctx.image_stage.lr,
            momentum=ctx.image_stage.momentum,
            weight_decay=ctx.image_stage.weight_decay,
            steps_per_epoch=1,
            lr_step_epochs=ctx.image_stage.lr_step_epochs,
            lr_gamma=ctx.image_stage.lr_gamma,
            head_lr_multiplier=ctx.dcl.head_lr_multiplier,
        )
        batch = image_batch(ctx, size, batch_size)
        step = train_step(ctx, _compiled(ctx, model, compiled), optimizer, loss_fn, batch)
        unit = "originals/s" if dcl_loss else "images/s"
        return throughput_record(
            ctx,
            step,
            batch_size,
            unit=unit,
            flops_step=forward_backward(ctx, model, loss_fn, batch),
        )
    finally:
        torch.backends.cudnn.benchmark = False  # the project's setting


def image_inference(ctx: Context, depth: int, size: int, batch_size: int) -> dict[str, Any]:
    model = image_model(ctx, depth)
    batch = image_batch(ctx, size, batch_size)
    run = inference(ctx, model, logits_fn(ImageInputs(ctx.augment, size)), batch)
    return throughput_record(ctx, run, batch_size, unit="images/s", flops_step=run)


def synthetic_cache(ctx: Context, size: int) -> np.ndarray:
    """A (rows, size, size, 3) uint8 ``.npy`` read back as a memory map, as the cache is."""
    path = ctx.scratch / f"images_{size}.npy"
    rows = ctx.sizes.loader_rows[size]
    if not path.is_file():
        array = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.uint8, shape=(rows, size, size, 3)
        )
        for start in range(0, rows, 256):
            array[start : start + 256] = np.arange(start, min(start + 256, rows))[
                :, None, None, None
            ].astype(np.uint8)
        array.flush()
        del array
    return np.load(path, mmap_mode="r")


def loader_throughput(ctx: Context, size: int, workers: int) -> dict[str, Any]:
    """Images/s that ``image_loader`` delivers onto the device from the memory-mapped cache.

    The cache file was just written, so it is read from the page cache (as a cache that fits
    in RAM is after its first epoch): this is the loader's ceiling, not the disk's.
    """
    images = synthetic_cache(ctx, size)
    batch_size = ctx.sizes.batch_low if size == ctx.sizes.sizes[0] else ctx.sizes.batch_high
    dataset = CachedImageDataset(images, np.arange(len(images)), np.zeros(len(images), np.int64))
    loader = image_loader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True
    )
    t0 = time.perf_counter()
    count, start, first = 0, None, None
    while start is None or time.perf_counter() - start < ctx.sizes.stage_seconds:
        for batch in loader:
            batch["images"].to(ctx.device, non_blocking=True)
            if start is None:  # the first batch pays the workers' start-up
                first, start = time.perf_counter() - t0, time.perf_counter()
                continue
            count += len(batch["images"])
            if time.perf_counter() - start >= ctx.sizes.stage_seconds:
                break
    ctx.sync()
    seconds = time.perf_counter() - start
    del loader
    return {
        "value": count / seconds,
        "unit": "images/s",
        "batch": batch_size,
        "workers": workers,
        "first_batch_seconds": first,
        "rows": len(images),
    }


def cache_build(ctx: Context) -> dict[str, Any]:
    """Photos/s of ``ImageCacheDataset`` at the configured sizes, from demo JPEGs."""
    import pandas as pd  # noqa: PLC0415

    from rakuten_kedro.datasets.image_cache import ImageCacheDataset  # noqa: PLC0415
    from rakuten_kedro.demo import generate_demo_dataset  # noqa: PLC0415
    from rakuten_kedro.pipelines.preprocessing.nodes import describe_image_cache  # noqa: PLC0415

    photos = ctx.scratch / "photos"
    per_class = ctx.sizes.cache_photos // len(PRDTYPECODES)
    generate_demo_dataset(
        photos,
        n_products=ctx.sizes.cache_photos,
        n_test=len(PRDTYPECODES),
        image_size=ctx.sizes.photo_size,
        min_per_class=per_class,
        progress=False,
    )
    paths = sorted(str(p) for p in (photos / "images" / "image_train").glob("*.jpg"))
    products = pd.DataFrame({"row_id": np.arange(len(paths)), "image_path": paths})
    spec = describe_image_cache(products, {"sizes": list(ctx.sizes.sizes), "on_bad_image": "error"})
    dataset = ImageCacheDataset(path=str(ctx.scratch / "cache"))
    t0 = time.perf_counter()
    dataset.save(spec)
    seconds = time.perf_counter() - t0
    return {
        "value": len(paths) / seconds,
        "unit": "photos/s",
        "photos": len(paths),
        "note": "demo photos: simpler than real ones, so real JPEGs decode somewhat slower",
    }


@dataclass(frozen=True)
class Stage:
    """One measurement: its name, what it is, how to run it, the time it needs to start."""

    name: str
    what: str
    measure: Callable[[Context], dict[str, Any]]
    reserve_s: float = 0.0


def stages(ctx: Context) -> list[Stage]:
    """Every measurement, cheapest and most needed first; the compiled steps last, the one
    that matters most first (stage 2 is the plan's longest stage).

    Names say the role (``stage1``: the image model's first stage, ``stage2``: its second,
    ``denoising``), descriptions the shapes, so smoke and full runs share the names.
    """
    z = ctx.sizes
    low, high = z.sizes
    resnet, reserve = f"ResNet{z.depth}", z.compile_reserve_s
    return [
        Stage(
            "text_train",
            f"camembert-base shape, {z.tokens} tokens, batch {z.text_batch}",
            text_train,
        ),
        Stage(
            "text_inference",
            f"camembert-base shape, {z.tokens} tokens, batch {z.text_eval_batch}",
            text_inference,
        ),
        Stage(
            "stage1_train",
            f"{resnet} {low} px, batch {z.batch_low}",
            lambda c: image_train(c, z.depth, low, z.batch_low),
        ),
        Stage(
            "stage1_inference",
            f"{resnet} {low} px, batch {z.eval_low}",
            lambda c: image_inference(c, z.depth, low, z.eval_low),
        ),
        Stage(
            "stage2_train",
            f"{resnet} {high} px, plain loss, batch {z.batch_high}",
            lambda c: image_train(c, z.depth, high, z.batch_high),
        ),
        Stage(
            "stage2_inference",
            f"{resnet} {high} px, batch {z.eval_high}",
            lambda c: image_inference(c, z.depth, high, z.eval_high),
        ),
        Stage(
            "stage2_dcl_train",
            f"{resnet} {high} px, DCL loss, {z.batch_dcl} originals (x2 images)",
            lambda c: image_train(c, z.depth, high, z.batch_dcl, dcl_model=True, dcl_loss=True),
        ),
        Stage(
            "stage2_plain_on_dcl_batch",
            f"{resnet} {high} px, plain loss, same model and batch as stage2_dcl_train",
            lambda c: image_train(c, z.depth, high, z.batch_dcl, dcl_model=True),
        ),
        Stage(
            "denoising_train",
            f"ResNet{z.denoise_depth} {low} px, batch {z.denoise_batch}",
            lambda c: image_train(c, z.denoise_depth, low, z.denoise_batch),
        ),
        *(
            Stage(
                f"loader_{size}px_workers{w}",
                f"image_loader over a memory-mapped {size} px cache, {w} workers",
                lambda c, size=size, w=w: loader_throughput(c, size, w),
            )
            for size in (low, high)
            for w in z.loader_workers
        ),
        Stage(
            "cache_build",
            f"ImageCacheDataset {low} + {high} px from {z.photo_size} px JPEGs",
            cache_build,
        ),
        Stage(
            "stage2_train_cudnn_benchmark",
            "as stage2_train, cudnn.benchmark on",
            lambda c: image_train(c, z.depth, high, z.batch_high, cudnn_benchmark=True),
        ),
        Stage(
            "stage2_train_compiled",
            f"as stage2_train, torch.compile ({z.compile_backend})",
            lambda c: image_train(c, z.depth, high, z.batch_high, compiled=True),
            reserve["image"],
        ),
        Stage(
            "text_train_compiled",
            f"as text_train, torch.compile ({z.compile_backend})",
            lambda c: text_train(c, compiled=True),
            reserve["text"],
        ),
        Stage(
            "stage1_train_compiled",
            f"as stage1_train, torch.compile ({z.compile_backend})",
            lambda c: image_train(c, z.depth, low, z.batch_low, compiled=True),
            reserve["image"],
        ),
    ]


def release(ctx: Context) -> None:
    """Free what the last stage left (models, compiled graphs, cached GPU blocks)."""
    torch._dynamo.reset()  # noqa: SLF001 - the public way to drop compiled graphs
    gc.collect()
    if ctx.device.type == "cuda":
        torch.cuda.empty_cache()


def run_stages(ctx: Context, listed: list[Stage], deadline: float, strict: bool) -> list[dict]:
    """Run the stages that still fit before ``deadline``; a failing stage is recorded, not fatal.

    Args:
        strict: Re-raise a stage's error (smoke runs: a broken code path must fail the test).
    """
    records = []
    for stage in listed:
        record: dict[str, Any] = {"stage": stage.name, "what": stage.what}
        left = deadline - time.perf_counter()
        if left < max(stage.reserve_s, 1.0):
            record["skipped"] = f"time budget: {left:.0f} s left, needs ~{stage.reserve_s:.0f} s"
        else:
            t0 = time.perf_counter()
            try:
                record.update(stage.measure(ctx))
            except Exception as error:  # noqa: BLE001 - one stage failing must not stop the check
                if strict:
                    raise
                record["error"] = f"{type(error).__name__}: {str(error)[:300]}"
            record["wall_seconds"] = time.perf_counter() - t0
            release(ctx)
        print(_line(record), flush=True)
        records.append(record)
    return records


def _line(record: dict) -> str:
    if "value" not in record:
        return f"{record['stage']:<40} {record.get('skipped') or record.get('error')}"
    extra = []
    if record.get("peak_gpu_memory_gb") is not None:
        extra.append(f"peak {record['peak_gpu_memory_gb']:.1f} GB")
    if record.get("achieved_tflops") is not None:
        extra.append(f"{record['achieved_tflops']:.1f} TFLOP/s")
    if record.get("utilisation") is not None:
        extra.append(f"{record['utilisation']:.0%} of peak")
    return (
        f"{record['stage']:<40} {record['value']:>10,.1f} {record['unit']:<12} {', '.join(extra)}"
    )


# -- summary ----------------------------------------------------------------------------------


def derived(records: list[dict], sizes: Sizes) -> dict[str, Any]:
    """Ratios worth reading first: DCL's cost, compile and cudnn gains, loader headroom."""
    by_name = {r["stage"]: r for r in records if "value" in r}

    def ratio(numerator: str, denominator: str, key: str = "value") -> float | None:
        if numerator in by_name and denominator in by_name:
            return by_name[numerator][key] / by_name[denominator][key]
        return None

    figures = {
        "dcl_step_time_ratio": ratio(
            "stage2_dcl_train", "stage2_plain_on_dcl_batch", "step_seconds"
        ),
        "compile_speedup_text_train": ratio("text_train_compiled", "text_train"),
        "compile_speedup_stage1_train": ratio("stage1_train_compiled", "stage1_train"),
        "compile_speedup_stage2_train": ratio("stage2_train_compiled", "stage2_train"),
        "cudnn_benchmark_speedup_stage2_train": ratio(
            "stage2_train_cudnn_benchmark", "stage2_train"
        ),
    }
    for stage, size in zip(("stage1", "stage2"), sizes.sizes, strict=True):
        loaders = [r["value"] for name, r in by_name.items() if name.startswith(f"loader_{size}px")]
        if loaders and f"{stage}_train" in by_name:
            figures[f"loader_headroom_{stage}"] = max(loaders) / by_name[f"{stage}_train"]["value"]
    return {name: round(value, 3) for name, value in figures.items() if value is not None}


def planning_arguments(records: list[dict], measured_on: str) -> list[str]:
    """``planning.py`` arguments: every measured figure that replaces an estimate."""
    arguments = ["--measured-on", measured_on, "--measured-by", "`benchmarks/gpu_check.py`"]
    for record in records:
        key = PLANNING_STAGES.get(record["stage"])
        if key is None or "value" not in record:
            continue
        arguments += ["--throughput", f"{key}={record['value']:.1f}"]
        if record.get("peak_gpu_memory_gb") is not None:
            arguments += ["--gpu-memory", f"{key}={record['peak_gpu_memory_gb']:.1f}"]
    return arguments


def result_rows(records: list[dict]) -> list[dict]:
    """The measured stages as ``common.row`` lines (the common results format)."""
    rows = []
    for record in records:
        if "value" in record:
            note = _line(record).split(record["unit"], 1)[1].strip()
            rows.append(
                common.row(
                    f"{record['stage']}: {record['what']}",
                    record["value"],
                    record["unit"],
                    note=note,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes on any device, every code path (tests); README untouched",
    )
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "gpu_check.json")
    parser.add_argument(
        "--readme",
        type=Path,
        help="README whose planning table to rewrite (default: the project's, not with --smoke)",
    )
    args = parser.parse_args(argv)
    if not args.smoke and not torch.cuda.is_available():
        print(NO_GPU)
        return 0
    params = planning.load_parameters()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    precision = resolve_mixed_precision("auto", device) if device.type == "cuda" else "bf16"
    sizes = smoke_sizes() if args.smoke else full_sizes(params)
    common.start("gpu_check")
    deadline = time.perf_counter() + sizes.total_seconds
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as scratch:
        ctx = Context(
            device=device,
            dtype={"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision),
            sizes=sizes,
            peak_tflops=peak_bf16_tflops(device_name) if device.type == "cuda" else None,
            scratch=Path(scratch),
            text_training=config.TextTraining.parse(params["text_transformer"]["training"]),
            image_stage=config.Stage.parse(params["image_dcl_clean"]["stage1"]),
            augment=config.Augment.parse(params["image_dcl_clean"]["augment"]),
            dcl=config.DCL.parse(params["image_dcl_clean"]["stage2"]["dcl"]),
        )
        if device.type == "cuda" and ctx.peak_tflops is None:
            print(f"peak bf16 TFLOP/s of {device_name!r} unknown: no utilisation figures")
        records = run_stages(ctx, stages(ctx), deadline, strict=args.smoke)
    measured_on = f"{device_name} ({time.strftime('%Y-%m-%d')})"
    result = common.finish(
        result_rows(records),
        path=args.out,
        device=device_name,
        smoke=args.smoke,
        precision=precision,
        peak_bf16_tflops=ctx.peak_tflops,
        sizes=asdict(sizes),
        stages=records,
        derived=derived(records, sizes),
    )
    readme = args.readme or (None if args.smoke else common.PROJECT / "README.md")
    arguments = planning_arguments(records, measured_on)
    arguments += ["--out", str(args.out.with_name("planning.json"))]
    planning.main(arguments + (["--readme", str(readme)] if readme else []))
    print(f"derived: {result['derived']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
