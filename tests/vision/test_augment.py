"""Batched tensor augmentations: centre crop is exact, random ones stay within the bounds."""

import torch

from rakuten_kedro.config import Augment
from rakuten_kedro.vision.augment import augment_batch, augmentation_matrices, to_float_images


def settings(crop_fraction: float = 0.875) -> Augment:
    return Augment(crop_fraction=crop_fraction, rotation_degrees=15, hflip=True)


def test_to_float_images_accepts_cache_layout():
    images = torch.full((2, 8, 8, 3), 255, dtype=torch.uint8)
    pixels = to_float_images(images)
    assert pixels.shape == (2, 3, 8, 8)
    assert torch.all(pixels == 1.0)


def test_centre_crop_without_crop_is_identity():
    images = (torch.rand(3, 16, 16, 3) * 255).to(torch.uint8)
    out = augment_batch(images, settings(1.0), 16, train=False, normalize=False)
    assert out.shape == (3, 3, 16, 16)
    assert torch.allclose(out, to_float_images(images), atol=1e-5)


def test_centre_crop_zooms_into_the_middle():
    images = torch.zeros(1, 3, 32, 32)
    images[:, :, 8:24, 8:24] = 1.0  # a bright centre square, half the side
    out = augment_batch(images, settings(0.5), 32, train=False, normalize=False)
    assert out.mean() > 0.95  # the crop shows only the square


def test_random_matrices_respect_the_ranges():
    gen = torch.Generator().manual_seed(0)
    mats = augmentation_matrices(2000, settings(), train=True, generator=gen)
    linear, shift = mats[:, :, :2], mats[:, :, 2]
    # Each column of the linear part has length = crop scale (rotation and flip keep lengths).
    assert torch.allclose(linear.norm(dim=1), torch.full((2000, 2), 0.875), atol=1e-5)
    flipped = (torch.linalg.det(linear) < 0).float().mean()
    assert 0.4 < flipped < 0.6
    assert shift.norm(dim=1).max() <= (1 - 0.875) * 2**0.5 + 1e-6
    # Row 1 of R(θ)·s·F is s·(±sin θ, cos θ): the angle does not depend on the flip.
    angle = torch.rad2deg(torch.atan2(linear[:, 1, 0].abs(), linear[:, 1, 1]))
    assert angle.max() <= 15.0 + 1e-3 and angle.max() > 10.0


def test_train_output_shape_and_normalisation():
    images = torch.full((4, 40, 40, 3), 128, dtype=torch.uint8)
    out = augment_batch(
        images, settings(), 24, train=True, generator=torch.Generator().manual_seed(3)
    )
    assert out.shape == (4, 3, 24, 24)
    centre = out[:, :, 8:16, 8:16]  # never padding, whatever the rotation
    expected = (128 / 255 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor(
        [0.229, 0.224, 0.225]
    )
    assert torch.allclose(centre.mean(dim=(0, 2, 3)), expected, atol=1e-3)
