"""Photos in every colour mode Pillow opens, and rotated by EXIF: cached as a viewer shows them,
or listed in the image issues with the reason. docs/reliability.md lists these cases."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError
from PIL import Image

from rakuten_kedro.datasets import ImageCacheDataset, ImageCacheSpec
from rakuten_kedro.datasets.image_cache import BadImageError, decode_photo

#: 0, 17, 34, …, 255 in 16-bit levels (17 × 257 each): exact 8-bit values after scaling.
SIXTEEN_BIT_RAMP = np.tile(np.arange(16, dtype=np.int64) * 17 * 257, (16, 1))


def decoded(path: Path, size: int = 16) -> np.ndarray:
    (photo,) = decode_photo(path, [size])
    return photo.astype(int)


def saved(image: Image.Image, path: Path, expected_mode: str, **options) -> Path:
    """Save ``image`` and check the file really opens in the mode under test."""
    image.save(path, **options)
    with Image.open(path) as reopened:
        assert reopened.mode == expected_mode
    return path


def cache_of(paths: list[Path], tmp_path: Path, on_bad_image: str = "error"):
    spec = ImageCacheSpec(
        row_ids=np.arange(len(paths)),
        image_paths=tuple(map(str, paths)),
        sizes=(16,),
        on_bad_image=on_bad_image,
    )
    dataset = ImageCacheDataset(path=str(tmp_path / "cache"), workers=1)
    dataset.save(spec)
    return dataset.load()


@pytest.mark.parametrize(
    ("dtype", "suffix", "mode"),
    [("uint16", "png", "I;16"), (">u2", "tif", "I;16B"), ("int32", "tif", "I")],
)
def test_16_bit_grayscale_keeps_its_gradient(tmp_path: Path, dtype, suffix, mode):
    path = saved(Image.fromarray(SIXTEEN_BIT_RAMP.astype(dtype)), tmp_path / f"p.{suffix}", mode)
    cache = cache_of([path], tmp_path)  # no error: a faithful conversion, not an issue
    photo = cache.images(16)[0].astype(int)
    np.testing.assert_array_equal(photo, np.repeat((SIXTEEN_BIT_RAMP // 257)[..., None], 3, -1))
    assert cache.issues.empty


def test_16_bit_grayscale_transparency_key_is_laid_on_white(tmp_path: Path):
    levels = np.full((16, 16), 100 * 257, dtype=np.uint16)
    levels[:8] = 300
    path = saved(Image.fromarray(levels), tmp_path / "p.png", "I;16", transparency=300)
    photo = decoded(path)
    assert (photo[:8] == 255).all() and (photo[8:] == 100).all()


def test_integer_photo_outside_16_bits_is_listed_not_clipped(tmp_path: Path):
    levels = np.full((16, 16), 100_000, dtype=np.int32)
    path = saved(Image.fromarray(levels), tmp_path / "p.tif", "I")
    with pytest.raises(BadImageError, match=r"16-bit .*values from 100000 to 100000, outside"):
        decode_photo(path, [16])
    cache = cache_of([path], tmp_path, on_bad_image="placeholder")
    assert "outside 0..65535" in cache.issues["problem"].iloc[0]
    with pytest.raises(DatasetError, match="row_id 0 is a 16-bit grayscale photo"):
        cache_of([path], tmp_path / "strict")


def test_float_photo_in_0_to_1_keeps_its_gradient(tmp_path: Path):
    ramp = np.tile(np.arange(16, dtype=np.float32) * 17 / 255, (16, 1))
    path = saved(Image.fromarray(ramp), tmp_path / "p.tif", "F")
    np.testing.assert_array_equal(decoded(path)[..., 1], np.tile(np.arange(16) * 17, (16, 1)))


@pytest.mark.parametrize(("low", "high"), [(0.0, 200.0), (-1.0, 0.5)])
def test_float_photo_outside_0_to_1_is_listed(tmp_path: Path, low, high):
    path = saved(
        Image.fromarray(np.linspace(low, high, 256, dtype=np.float32).reshape(16, 16)),
        tmp_path / "p.tif",
        "F",
    )
    cache = cache_of([path], tmp_path, on_bad_image="placeholder")
    assert "floating-point grayscale photo (mode F)" in cache.issues["problem"].iloc[0]
    assert (cache.images(16)[0] == 255).all()


def test_one_bit_photo(tmp_path: Path):
    checker = (np.indices((16, 16)).sum(axis=0) % 2 * 255).astype(np.uint8)
    path = saved(Image.fromarray(checker).convert("1"), tmp_path / "p.png", "1")
    np.testing.assert_array_equal(decoded(path)[..., 0], checker)


@pytest.mark.parametrize(("mode", "suffix"), [("LA", "png"), ("PA", "tif")])
def test_grey_or_palette_with_alpha_is_laid_on_white(tmp_path: Path, mode, suffix):
    image = Image.new(mode, (16, 16), (90, 255))
    if mode == "PA":
        image.putpalette([10, 20, 200] * 256)
    image.paste((90, 0), (0, 0, 16, 8))  # top half fully transparent
    path = saved(image, tmp_path / f"p.{suffix}", mode)
    photo = decoded(path)
    assert (photo[:8] == 255).all()
    expected = [90, 90, 90] if mode == "LA" else [10, 20, 200]
    assert (photo[8:] == expected).all()


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_photo_with_and_without_transparency(tmp_path: Path, transparent):
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    image.paste(0, (0, 0, 16, 8))
    options = {"transparency": 0} if transparent else {}
    path = saved(image, tmp_path / "p.png", "P", **options)
    photo = decoded(path)
    assert (photo[:8] == (255 if transparent else 0)).all()
    assert (photo[8:] == [200, 30, 40]).all()


def test_rgba_half_transparent_is_blended_on_white(tmp_path: Path):
    path = saved(Image.new("RGBA", (16, 16), (0, 0, 200, 128)), tmp_path / "p.png", "RGBA")
    blended = [round(c * 128 / 255 + 255 * 127 / 255) for c in (0, 0, 200)]
    assert np.abs(decoded(path)[8, 8] - blended).max() <= 1


@pytest.mark.parametrize(
    ("mode", "suffix", "colour", "expected"),
    [
        ("CMYK", "jpg", (255, 0, 0, 0), (0, 255, 255)),  # cyan ink
        ("YCbCr", "tif", None, (200, 30, 60)),
        ("LAB", "tif", (135, 208, 195), (249, 3, 10)),  # L 53, a 80, b 67: sRGB red
        ("L", "png", (77,), (77, 77, 77)),
    ],
)
def test_other_colour_modes_become_their_rgb_colour(tmp_path: Path, mode, suffix, colour, expected):
    if colour is None:
        image = Image.new("RGB", (16, 16), expected).convert(mode)
    else:
        image = Image.new(mode, (16, 16), colour)
    path = saved(image, tmp_path / f"p.{suffix}", mode)
    assert np.abs(decoded(path)[8, 8] - expected).max() <= 3


#: How a photo is stored so that a viewer applying EXIF orientation ``o`` shows it upright.
STORED_FOR_ORIENTATION = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    5: Image.Transpose.TRANSPOSE,
}


def upright_photo(width: int, height: int) -> Image.Image:
    """Top-left quarter red, top-right green, bottom half blue."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    image.paste((0, 255, 0), (width // 2, 0, width, height // 2))
    return image


def save_rotated(path: Path, upright: Image.Image, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = upright.transpose(STORED_FOR_ORIENTATION[orientation])
    stored.save(path, quality=90, exif=exif.tobytes())


def assert_upright(photo: np.ndarray) -> None:
    """A 40 px photo of a 1:2 upright image: padded with white at the sides."""
    assert (photo[20, :6] >= 240).all() and (photo[20, -6:] >= 240).all()
    for (row, col), colour in {(10, 15): (255, 0, 0), (10, 25): (0, 255, 0)}.items():
        assert np.abs(photo[row, col].astype(int) - colour).max() < 40, (row, col, photo[row, col])
    assert np.abs(photo[30, 20].astype(int) - (0, 0, 255)).max() < 40


@pytest.mark.parametrize("orientation", sorted(STORED_FOR_ORIENTATION))
def test_exif_orientation_is_applied(tmp_path: Path, orientation):
    path = tmp_path / "rotated.jpg"
    save_rotated(path, upright_photo(20, 40), orientation)
    (photo,) = decode_photo(path, [40])
    assert_upright(photo)


def test_big_rotated_jpeg_is_upright_and_decoded_at_reduced_scale(tmp_path: Path):
    path = tmp_path / "big.jpg"
    save_rotated(path, upright_photo(3000, 6000), 6)
    started = time.perf_counter()
    (photo,) = decode_photo(path, [40])
    assert time.perf_counter() - started < 2.0
    assert_upright(photo)
