"""The decode-once image cache: same pixels as the JPEGs, rebuilt only when needed, resumable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError
from PIL import Image

from rakuten_kedro.datasets import ImageCacheDataset, ImageCacheSpec
from rakuten_kedro.datasets import image_cache as image_cache_module
from rakuten_kedro.datasets.image_cache import BadImageError, decode_photo, pixel_digest
from tests.fixtures import write_photo


def write_photos(folder: Path) -> list[Path]:
    """Six different 48 px JPEGs, ``image_0.jpg`` … ``image_5.jpg``."""
    paths = [folder / f"image_{i}.jpg" for i in range(6)]
    for seed, path in enumerate(paths):
        write_photo(path, seed, size=48)
    return paths


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    return write_photos(tmp_path / "photos")


def spec_for(paths, sizes=(16, 32), on_bad_image="error") -> ImageCacheSpec:
    return ImageCacheSpec(
        row_ids=np.arange(100, 100 + len(paths)),
        image_paths=tuple(map(str, paths)),
        sizes=sizes,
        on_bad_image=on_bad_image,
    )


def build(tmp_path: Path, spec: ImageCacheSpec):
    dataset = ImageCacheDataset(path=str(tmp_path / "cache"), workers=2)
    dataset.save(spec)
    return dataset.load()


def test_cache_matches_the_decoded_jpegs(tmp_path: Path, photos):
    cache = build(tmp_path, spec_for(photos))
    assert cache.sizes == [16, 32] and cache.row_ids.tolist() == list(range(100, 106))
    for size in (16, 32):
        images = cache.images(size)
        assert images.shape == (6, size, size, 3) and images.dtype == np.uint8
        assert isinstance(images, np.memmap) and not images.flags.writeable
        for row, path in enumerate(photos):
            with Image.open(path) as photo:
                expected = np.asarray(photo.convert("RGB").resize((size, size), Image.BILINEAR))
            np.testing.assert_array_equal(images[row], expected)
    assert cache.issues.empty


def test_pixel_digests_are_the_digests_of_the_cached_rows(tmp_path: Path, photos):
    cache = build(tmp_path, spec_for(photos))
    for size in (16, 32):
        digests = cache.pixel_digests(size)
        assert digests.shape == (6, 16) and digests.dtype == np.uint8
        assert not digests.flags.writeable
        expected = [pixel_digest(np.array(photo)) for photo in cache.images(size)]
        np.testing.assert_array_equal(digests, np.stack(expected))
        assert len({row.tobytes() for row in digests}) == 6  # six different photos
    assert not (cache.pixel_digests(16) == cache.pixel_digests(32)).all(axis=1).any()
    with pytest.raises(KeyError, match="add 64"):
        cache.pixel_digests(64)


def test_unknown_size_says_how_to_add_it(tmp_path: Path, photos):
    with pytest.raises(KeyError, match="add 64 to preprocessing.image_sizes"):
        build(tmp_path, spec_for(photos)).images(64)


def test_cache_is_rebuilt_only_when_inputs_change(tmp_path: Path, photos, monkeypatch):
    build(tmp_path, spec_for(photos))
    decoded = []
    original = image_cache_module.decode_photo
    monkeypatch.setattr(
        image_cache_module, "decode_photo", lambda p, s: decoded.append(p) or original(p, s)
    )
    build(tmp_path, spec_for(photos))
    assert decoded == []  # same inputs: nothing decoded
    write_photo(photos[2], seed=99, size=48)  # a photo changed: only its row is decoded
    cache = build(tmp_path, spec_for(photos))
    assert decoded == [str(photos[2])]
    with Image.open(photos[2]) as photo:
        expected = np.asarray(photo.convert("RGB").resize((16, 16), Image.BILINEAR))
    np.testing.assert_array_equal(cache.images(16)[2], expected)
    decoded.clear()
    build(tmp_path, spec_for(photos, sizes=(16, 24)))  # new sizes
    assert len(decoded) == 6


def test_interrupted_build_resumes_where_it_stopped(tmp_path: Path, photos, monkeypatch):
    monkeypatch.setattr(image_cache_module, "_CHUNK_ROWS", 2)
    original = image_cache_module.decode_photo
    calls = []

    def crash_on_fifth(path, sizes):
        calls.append(path)
        if len(calls) == 5:
            raise RuntimeError("killed")
        return original(path, sizes)

    monkeypatch.setattr(image_cache_module, "decode_photo", crash_on_fifth)
    dataset = ImageCacheDataset(path=str(tmp_path / "cache"), workers=1)
    with pytest.raises(DatasetError, match="killed"):
        dataset.save(spec_for(photos))
    assert not dataset.exists()  # a half-built cache is never trusted
    calls.clear()
    dataset.save(spec_for(photos))
    assert [Path(p).name for p in calls] == ["image_4.jpg", "image_5.jpg"]
    monkeypatch.undo()
    fresh = build(tmp_path / "fresh", spec_for(photos))
    np.testing.assert_array_equal(dataset.load().images(32), fresh.images(32))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"this is not an image", "unreadable"),
        (None, "missing"),
        ("truncated", "unreadable"),
    ],
)
def test_bad_photo_error_names_the_product(tmp_path: Path, photos, content, problem):
    bad = photos[3]
    if content is None:
        bad.unlink()
    elif content == "truncated":
        bad.write_bytes(bad.read_bytes()[:200])
    else:
        bad.write_bytes(content)
    with pytest.raises(DatasetError, match=rf"row_id 103 is {problem}.*image_3.jpg"):
        build(tmp_path, spec_for(photos))
    cache = build(tmp_path, spec_for(photos, on_bad_image="placeholder"))
    assert (cache.images(16)[3] == 255).all()
    assert cache.issues["row_id"].tolist() == [103]
    assert cache.issues["action"].tolist() == ["blank placeholder"]


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA"])
def test_any_colour_mode_becomes_rgb(tmp_path: Path, mode):
    path = tmp_path / ("photo.jpg" if mode == "CMYK" else "photo.png")
    Image.new(mode, (30, 20)).save(path)
    (small,) = decode_photo(path, [8])
    assert small.shape == (8, 8, 3) and small.dtype == np.uint8


def test_non_square_photos_are_padded_not_squashed(tmp_path: Path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (40, 20), (0, 0, 0)).save(path)
    (square,) = decode_photo(path, [20])
    assert (square[0] == 255).all() and (square[10] == 0).all()


def test_decode_photo_rejects_text_named_jpg(tmp_path: Path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello")
    with pytest.raises(BadImageError, match="unreadable"):
        decode_photo(path, [8])
