"""Training recipes for the ResNet image classifier, on the shared loop (``training.loop``).

The loop knows nothing about images: this module supplies the model-specific pieces —
``loss_fn`` (cross-entropy, or DCL's three losses), ``logits_fn`` / ``features_fn`` (centre
crop), the SGD optimizer with the paper's step decay and DCL's larger head learning rate —
and the loaders over the image cache. Pipelines and notebooks call :func:`fit_image_classifier`
and :func:`predict_image_classifier`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rakuten_kedro.config import (
    DCL,
    Augment,
    ImageRun,
    ResNetModel,
    Stage,
    learned_settings,
    parses_params,
)
from rakuten_kedro.fingerprint import Fingerprint, digest
from rakuten_kedro.models.image import ResNetClassifier, locate_weights
from rakuten_kedro.training.loop import (
    FitResult,
    TrainConfig,
    batches_per_epoch,
    fit,
    predict,
    scaled_lr,
)
from rakuten_kedro.vision.augment import augment_batch
from rakuten_kedro.vision.data import CachedImageDataset, image_loader
from rakuten_kedro.vision.region_confusion import (
    alignment_target,
    identity_permutation,
    region_confusion,
)

logger = logging.getLogger(__name__)


@parses_params
def weights_source(model: ResNetModel, parameter: str = "model") -> str:
    """Check that a model's pretrained weights are on this machine or downloadable; say where
    they come from.

    Args:
        model: The ``model`` block (the builder's arguments).
        parameter: Dotted name of that block in the configuration, for the message.

    Returns:
        ``"from scratch"`` or the weights file.

    Raises:
        FileNotFoundError: With instructions, when pretrained weights are missing.
    """
    path = locate_weights(model.depth, model.weights, model.weights_path, parameter=parameter)
    return "from scratch" if path is None else str(path)


@dataclass(frozen=True)
class ImageInputs:
    """How a batch of cache rows becomes the network's input: augmentation at a size."""

    augment: Augment
    size: int


def _network_input(images: torch.Tensor, inputs: ImageInputs, *, train: bool) -> torch.Tensor:
    pixels = augment_batch(images, inputs.augment, inputs.size, train=train)
    if pixels.is_cuda:
        # ResNets run markedly faster in NHWC on tensor cores.
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    return pixels


def plain_loss_fn(inputs: ImageInputs) -> Callable[[torch.nn.Module, dict], torch.Tensor]:
    """Cross-entropy on randomly augmented images."""

    def loss_fn(model: torch.nn.Module, batch: dict) -> torch.Tensor:
        logits = model(_network_input(batch["images"], inputs, train=True))
        return F.cross_entropy(logits.float(), batch["labels"])

    return loss_fn


def dcl_loss_fn(inputs: ImageInputs, dcl: DCL) -> Callable[[torch.nn.Module, dict], torch.Tensor]:
    """DCL's loss: every image is seen original and destructed.

    ``loss = w_cls · CE(class, label) + w_adv · CE(adversarial, destructed?) +
    w_align · L1(alignment, original cell positions)``, each term averaged over the 2B images.
    """

    def loss_fn(model: torch.nn.Module, batch: dict) -> torch.Tensor:
        originals = augment_batch(batch["images"], inputs.augment, inputs.size, train=True)
        destructed, source = region_confusion(originals, dcl.grid, dcl.window)
        count = originals.shape[0]
        both = torch.cat([originals, destructed])
        if both.is_cuda:
            both = both.contiguous(memory_format=torch.channels_last)
        out = model(both, mode="dcl")
        labels = batch["labels"].repeat(2)
        is_destructed = torch.cat(
            [torch.zeros(count, dtype=torch.long), torch.ones(count, dtype=torch.long)]
        ).to(labels.device)
        positions = torch.cat([identity_permutation(count, dcl.grid, labels.device), source])
        target = alignment_target(positions, dcl.grid)
        weights = dcl.loss_weights
        return (
            weights.classification * F.cross_entropy(out["logits"].float(), labels)
            + weights.adversarial * F.cross_entropy(out["adversarial"].float(), is_destructed)
            + weights.alignment * F.l1_loss(out["alignment"].float(), target)
        )

    return loss_fn


def logits_fn(inputs: ImageInputs) -> Callable[[torch.nn.Module, dict], torch.Tensor]:
    """Class logits on centre-cropped images (validation and prediction)."""

    def fn(model: torch.nn.Module, batch: dict) -> torch.Tensor:
        return model(_network_input(batch["images"], inputs, train=False))

    return fn


def features_fn(inputs: ImageInputs) -> Callable[[torch.nn.Module, dict], Any]:
    """``(logits, pooled features)`` on centre-cropped images, in one forward pass."""

    def fn(model: torch.nn.Module, batch: dict) -> Any:
        return model(_network_input(batch["images"], inputs, train=False), mode="features")

    return fn


def sgd_with_step_decay(
    model: ResNetClassifier,
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    steps_per_epoch: int,
    lr_step_epochs: int,
    lr_gamma: float,
    head_lr_multiplier: float = 1.0,
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.StepLR]:
    """SGD (momentum) with lr × ``lr_gamma`` every ``lr_step_epochs`` epochs (paper: 0.1, 12).

    The loop steps schedulers once per optimizer step, so the epoch-based decay is expressed
    in steps. The DCL heads (when present) get ``head_lr_multiplier`` × the base rate.

    Returns:
        ``(optimizer, scheduler)``.
    """
    heads = {id(p) for p in model.dcl_head_parameters()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in heads], "lr": lr}]
    if heads:
        groups.append({"params": model.dcl_head_parameters(), "lr": lr * head_lr_multiplier})
    optimizer = torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    step_size = max(1, lr_step_epochs * steps_per_epoch)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=lr_gamma)


def pixels_digest(
    images: np.ndarray, positions: np.ndarray, pixel_digests: np.ndarray | None = None
) -> str:
    """Digest of the photos at ``positions`` of the cache array ``images``, in order.

    Args:
        images: Cache array (N, S, S, 3).
        positions: The rows a model learns from (or is scored on).
        pixel_digests: The cache's per-row digests at that size (``ImageCache.pixel_digests``),
            computed once when the cache was built; ``None`` hashes the pixels themselves
            (small in-memory arrays: tests, notebooks).

    Returns:
        32 hex digits; changes when one pixel of one of those photos changes.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if pixel_digests is not None:
        return digest(np.asarray(pixel_digests)[positions])
    return digest(np.ascontiguousarray(images[positions]))


def image_fingerprint(  # noqa: PLR0913 - one argument per thing a training depends on
    *,
    settings: dict[str, Any],
    images: np.ndarray,
    pixel_digests: np.ndarray | None,
    train_positions: np.ndarray,
    train_labels: np.ndarray,
    val_positions: np.ndarray | None,
    val_labels: np.ndarray | None,
) -> Fingerprint:
    """What an image training depends on besides its initial weights: settings, the pixels and
    labels of its training rows, and those of the validation rows that pick its best epoch."""
    no_rows = np.zeros(0, dtype=np.int64)
    val_positions = no_rows if val_positions is None else val_positions
    return Fingerprint.of(
        settings=settings,
        training_pixels=pixels_digest(images, train_positions, pixel_digests),
        training_labels=np.asarray(train_labels, dtype=np.int64),
        validation_pixels=pixels_digest(images, val_positions, pixel_digests),
        validation_labels=no_rows if val_labels is None else np.asarray(val_labels, np.int64),
    )


@parses_params
def fit_image_classifier(
    model: ResNetClassifier,
    images: np.ndarray,
    train_positions: np.ndarray,
    train_labels: np.ndarray,
    *,
    val_positions: np.ndarray | None,
    val_labels: np.ndarray | None,
    stage: Stage,
    augment: Augment,
    run: ImageRun,
    dcl: DCL | None = None,
    name: str = "image",
    checkpoint_dir: str | Path | None = None,
    pixel_digests: np.ndarray | None = None,
) -> FitResult:
    """Train ``model`` on cache rows, plain or with DCL, keeping the best validation epoch.

    Args:
        model: The classifier (with DCL heads when ``dcl`` is given).
        images: Cache array (N, S, S, 3) uint8.
        train_positions: Cache rows to train on; ``train_labels``: their label indices.
        val_positions: Cache rows scored each epoch (None: keep the last epoch);
            ``val_labels``: their labels.
        stage: The stage's settings (input size, epochs, batch size, SGD, step decay).
        augment: The augmentation settings.
        run: Precision, seed, gradient clipping, device, workers, progress.
        dcl: The DCL settings, or None for plain cross-entropy.
        name: Shown in logs and progress bars.
        checkpoint_dir: Checkpoint folder for resume and reuse (None: none).
        pixel_digests: The cache's per-row digests aligned with ``images`` (see
            :func:`pixels_digest`), so a checkpoint is reused only for the same photos.

    Returns:
        The loop's ``FitResult`` (model with the best epoch's weights).
    """
    inputs = ImageInputs(augment, stage.input_size)
    if dcl is not None and model.dcl_grid != dcl.grid:
        raise ValueError(
            f"{name}: DCL with a {dcl.grid}x{dcl.grid} grid needs a model with DCL heads of "
            f"that grid (model has {model.dcl_grid})"
        )
    train_loader = image_loader(
        CachedImageDataset(images, train_positions, train_labels),
        batch_size=stage.batch_size,
        shuffle=True,
        num_workers=run.num_workers,
        seed=run.seed,
        drop_last=True,  # a batch of one breaks batch norm
    )
    val_loader = None
    if val_positions is not None and len(val_positions):
        val_loader = image_loader(
            CachedImageDataset(images, val_positions, val_labels),
            batch_size=stage.inference_batch_size,
            shuffle=False,
            num_workers=run.num_workers,
        )
    optimizer, scheduler = sgd_with_step_decay(
        model,
        lr=scaled_lr(stage.lr, run.scale_lr, cpu=run.cpu, name=name),
        momentum=stage.momentum,
        weight_decay=stage.weight_decay,
        steps_per_epoch=batches_per_epoch(
            train_loader, cpu=run.cpu, max_batches=run.max_batches_per_epoch
        ),
        lr_step_epochs=stage.lr_step_epochs,
        lr_gamma=stage.lr_gamma,
        head_lr_multiplier=dcl.head_lr_multiplier if dcl else 1.0,
    )
    if torch.cuda.is_available() and not run.cpu:
        model = model.to(memory_format=torch.channels_last)
    config = TrainConfig(
        epochs=stage.epochs,
        mixed_precision=run.mixed_precision,
        patience=stage.patience,
        seed=run.seed,
        checkpoint_dir=checkpoint_dir,
        cpu=run.cpu,
        max_grad_norm=run.max_grad_norm,
        progress=run.progress,
        compile=run.compile,
        max_batches_per_epoch=run.max_batches_per_epoch,
        fingerprint=image_fingerprint(
            settings={
                "stage": learned_settings(stage),
                "augment": learned_settings(augment),
                "dcl": None if dcl is None else learned_settings(dcl),
                "run": learned_settings(run),
            },
            images=images,
            pixel_digests=pixel_digests,
            train_positions=train_positions,
            train_labels=train_labels,
            val_positions=val_positions,
            val_labels=val_labels,
        ),
        name=name,
    )
    loss = dcl_loss_fn(inputs, dcl) if dcl else plain_loss_fn(inputs)
    return fit(
        model,
        train_loader,
        val_loader,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=loss,
        logits_fn=logits_fn(inputs),
        config=config,
    )


@parses_params
def predict_image_classifier(
    model: torch.nn.Module,
    images: np.ndarray,
    positions: np.ndarray,
    *,
    stage: Stage,
    augment: Augment,
    run: ImageRun,
    desc: str = "predict",
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and pooled features of cache rows (centre crop), in order.

    Args:
        model: The trained classifier.
        images: Cache array (N, S, S, 3) uint8.
        positions: The cache rows to predict, in the order of the output.
        stage: The stage the model was last trained in (its input size and batch size).
        augment: The augmentation settings (the centre crop is used).
        run: Precision, device, workers, progress.
        desc: Progress bar label.

    Returns:
        ``(probs (n, C) float32, features (n, D) float32)``.
    """
    inputs = ImageInputs(augment, stage.input_size)
    loader = image_loader(
        CachedImageDataset(images, positions),
        batch_size=stage.inference_batch_size,
        shuffle=False,
        num_workers=run.num_workers,
    )
    return predict(
        model,
        loader,
        logits_fn=logits_fn(inputs),
        features_fn=features_fn(inputs),
        mixed_precision=run.mixed_precision,
        cpu=run.cpu,
        progress=run.progress,
        desc=desc,
    )


def history_summary(result: FitResult) -> dict[str, Any]:
    """JSON-friendly summary of a fit: best epoch/score, per-epoch history, wall time."""

    def clean(value: float) -> float | None:
        return None if isinstance(value, float) and math.isnan(value) else value

    return {
        "best_epoch": result.best_epoch,
        "best_val_macro_f1": clean(float(result.best_score)),
        "seconds": float(sum(h.get("seconds", 0.0) for h in result.history)),
        "history": [{k: clean(v) for k, v in h.items()} for h in result.history],
    }
