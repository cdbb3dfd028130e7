"""Image augmentations on batched tensors, on the training device.

The paper's torchvision pipeline is ``Resize(256) → RandomRotation(15) → RandomCrop(224) →
RandomHorizontalFlip`` (and ``Resize(256) → CenterCrop(224)`` for evaluation). Resize, crop,
rotation and flip are all affine maps of the image plane, so we compose them into one affine
matrix per image and sample the output with a single ``grid_sample``: one kernel per batch
on the GPU instead of four PIL operations per image on the CPU workers. The crop covers
``crop_fraction`` of the side (224/256 = 0.875) and is resampled to ``out_size`` pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rakuten_kedro.config import Augment

#: ImageNet statistics: torchvision's ResNet weights expect them, and from-scratch models
#: are indifferent to a fixed affine rescaling.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) or (B, 3, H, W) → float32 (B, 3, H, W) in [0, 1]."""
    if images.ndim != 4:
        raise ValueError(f"expected a batch of images (4 dims), got shape {tuple(images.shape)}")
    if images.shape[-1] == 3 and images.shape[1] != 3:
        images = images.permute(0, 3, 1, 2)
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


def augmentation_matrices(
    batch: int,
    config: Augment,
    *,
    train: bool,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Per-image affine matrices (B, 2, 3) mapping output to input normalised coordinates.

    Output point ``p`` (in ``[-1, 1]²`` of the crop) reads the input at
    ``R(θ) · (s · F · p + t)``: flip ``F``, crop scale ``s = crop_fraction``, crop offset
    ``t`` (uniform within the image), rotation ``θ`` about the image centre.

    Args:
        batch: Number of images.
        config: The augmentation settings.
        train: Random crop/rotation/flip when True, centre crop otherwise.
        generator: Optional torch random generator (on ``device``).
        device: Device of the matrices.

    Returns:
        (B, 2, 3) float32 tensor for ``torch.nn.functional.affine_grid``.
    """
    scale = config.crop_fraction
    if not 0 < scale <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1], got {scale}")
    zeros = torch.zeros(batch, device=device)
    if train:
        rand = torch.rand((batch, 4), generator=generator, device=device)
        theta = (2 * rand[:, 0] - 1) * math.radians(config.rotation_degrees)
        offset = (2 * rand[:, 1:3] - 1) * (1 - scale)
        flip = torch.where(rand[:, 3] < 0.5, -1.0, 1.0) if config.hflip else zeros + 1
    else:
        theta, offset, flip = zeros, torch.zeros(batch, 2, device=device), zeros + 1
    cos, sin = torch.cos(theta), torch.sin(theta)
    rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    linear = rotation * scale
    linear[:, :, 0] = linear[:, :, 0] * flip[:, None]
    translation = torch.einsum("bij,bj->bi", rotation, offset)
    return torch.cat([linear, translation[:, :, None]], dim=2)


def augment_batch(
    images: torch.Tensor,
    config: Augment,
    out_size: int,
    *,
    train: bool,
    generator: torch.Generator | None = None,
    normalize: bool = True,
) -> torch.Tensor:
    """Crop/rotate/flip/resize a batch and normalise it for the network.

    Args:
        images: uint8 (B, H, W, 3) as read from the image cache, or (B, 3, H, W).
        config: The augmentation settings.
        out_size: Side of the network input, in pixels.
        train: Random augmentation when True, deterministic centre crop otherwise.
        generator: Optional torch random generator (on the images' device).
        normalize: Subtract the ImageNet mean and divide by its std.

    Returns:
        float32 (B, 3, out_size, out_size).
    """
    pixels = to_float_images(images)
    batch = pixels.shape[0]
    matrices = augmentation_matrices(
        batch, config, train=train, generator=generator, device=pixels.device
    )
    size = (batch, pixels.shape[1], out_size, out_size)
    grid = F.affine_grid(matrices, size, align_corners=False)
    # Rotation corners fall outside the image: zero padding is torchvision's default fill.
    out = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if normalize:
        mean = torch.tensor(IMAGENET_MEAN, device=out.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=out.device).view(1, 3, 1, 1)
        out = (out - mean) / std
    return out
