"""A damaged, edited or half-updated image cache is detected and repaired, never trusted.

Each case is a row of docs/reliability.md: keep the two in step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from rakuten_kedro.datasets import ImageCacheDataset, ImageCacheSpec
from rakuten_kedro.datasets import image_cache as image_cache_module
from rakuten_kedro.datasets.image_cache import pixel_digest
from tests.datasets.test_image_cache import spec_for, write_photos
from tests.fixtures import write_photo


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    return write_photos(tmp_path / "photos")


def cache_at(folder: Path) -> ImageCacheDataset:
    return ImageCacheDataset(path=str(folder), workers=1)


@pytest.fixture
def decoded(monkeypatch) -> list[str]:
    """The names of the photos decoded from now on."""
    names: list[str] = []
    original = image_cache_module.decode_photo

    def counting(path, sizes):
        names.append(Path(path).name)
        return original(path, sizes)

    monkeypatch.setattr(image_cache_module, "decode_photo", counting)
    return names


def assert_same_as_fresh_build(folder: Path, spec: ImageCacheSpec, tmp_path: Path) -> None:
    fresh = cache_at(tmp_path / "fresh")
    fresh.save(spec)
    expected, actual = fresh.load(), cache_at(folder).load()
    for size in spec.sizes:
        np.testing.assert_array_equal(actual.images(size), expected.images(size))
        np.testing.assert_array_equal(actual.pixel_digests(size), expected.pixel_digests(size))
    assert actual.issues.equals(expected.issues)


def test_truncated_array_is_rebuilt_not_reported_up_to_date(tmp_path, photos, caplog):
    folder = tmp_path / "cache"
    cache_at(folder).save(spec_for(photos))
    array = folder / "images_32.npy"
    os.truncate(array, array.stat().st_size // 2)
    caplog.set_level("INFO")
    cache_at(folder).save(spec_for(photos))
    assert "images_32.npy was truncated (9,280 of 18,560 bytes); rebuilding it" in caplog.text
    assert "up to date" not in caplog.text
    assert_same_as_fresh_build(folder, spec_for(photos), tmp_path)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda f: os.truncate(f / "images_32.npy", 500), r"images_32.npy was truncated"),
        (lambda f: (f / "images_16.npy").unlink(), r"images_16.npy is missing"),
        (lambda f: f.joinpath("images_16.npy").open("ab").write(b"x"), r"images_16.npy has"),
        (lambda f: f.joinpath("digests_32.npy").write_bytes(b"no"), r"digests_32.npy does not"),
        (
            lambda f: f.joinpath("issues.csv").write_text("ROW_ID,IMAGE_PATH,PROBLEM,ACTION\n"),
            "issues.csv was changed",
        ),
    ],
)
def test_loading_a_damaged_cache_says_to_rerun_preprocessing(tmp_path, photos, damage, problem):
    folder = tmp_path / "cache"
    cache_at(folder).save(spec_for(photos))
    damage(folder)
    with pytest.raises(
        DatasetError,
        match=rf"does not match its manifest.json: {problem}.*"
        r"kedro run --pipelines preprocessing",
    ):
        cache_at(folder).load()
    cache_at(folder).save(spec_for(photos))  # the next preprocessing run repairs it
    assert_same_as_fresh_build(folder, spec_for(photos), tmp_path)


def overwrite_row(array: Path, row: int, value: int) -> None:
    images = np.load(array, mmap_mode="r+")
    images[row] = value
    images.flush()
    del images


def test_edited_row_is_found_by_its_digest_and_decoded_again(tmp_path, photos, decoded, caplog):
    folder = tmp_path / "cache"
    cache_at(folder).save(spec_for(photos))
    decoded.clear()
    overwrite_row(folder / "images_32.npy", 3, 0)
    with pytest.raises(DatasetError, match="images_32.npy was modified after the cache was built"):
        cache_at(folder).load()
    caplog.set_level("INFO")
    cache_at(folder).save(spec_for(photos))
    assert decoded == ["image_3.jpg"]
    assert "images_32.npy was modified after the cache was built: 1 of 6 photo(s)" in caplog.text
    assert_same_as_fresh_build(folder, spec_for(photos), tmp_path)


def test_touched_array_with_intact_rows_is_kept(tmp_path, photos, decoded, caplog):
    folder = tmp_path / "cache"
    cache_at(folder).save(spec_for(photos))
    decoded.clear()
    os.utime(folder / "images_16.npy")  # e.g. copied without keeping times
    caplog.set_level("INFO")
    cache_at(folder).save(spec_for(photos))
    assert decoded == [] and "0 of 6 photo(s) differ from their digests" in caplog.text
    caplog.clear()
    cache_at(folder).save(spec_for(photos))  # the new mtime was recorded: no second check
    assert "modified" not in caplog.text and "up to date" in caplog.text
    cache_at(folder).load()


def test_one_changed_photo_decodes_only_its_row(tmp_path, photos, decoded, caplog):
    folder = tmp_path / "cache"
    photos[1].unlink()
    cache_at(folder).save(spec_for(photos, on_bad_image="placeholder"))
    before = cache_at(folder).load()
    old_images = {s: np.array(before.images(s)) for s in (16, 32)}
    old_digests = {s: np.array(before.pixel_digests(s)) for s in (16, 32)}
    decoded.clear()
    write_photo(photos[1], seed=41, size=48)  # the missing photo arrives
    photos[4].write_bytes(b"broken")  # another one breaks
    caplog.set_level("INFO")
    cache_at(folder).save(spec_for(photos, on_bad_image="placeholder"))
    assert sorted(decoded) == ["image_1.jpg", "image_4.jpg"]
    assert "2 of 6 photo(s) changed since they were decoded" in caplog.text
    after = cache_at(folder).load()
    assert after.issues["row_id"].tolist() == [104]
    for size in (16, 32):
        changed = (after.pixel_digests(size) != old_digests[size]).any(axis=1)
        assert changed.tolist() == [False, True, False, False, True, False]
        unchanged = [0, 2, 3, 5]
        np.testing.assert_array_equal(after.images(size)[unchanged], old_images[size][unchanged])
        assert [pixel_digest(photo).tolist() for photo in after.images(size)] == (
            after.pixel_digests(size).tolist()
        )
    assert_same_as_fresh_build(folder, spec_for(photos, on_bad_image="placeholder"), tmp_path)


def test_interrupted_partial_rebuild_resumes_and_never_trusts_half_done_rows(
    tmp_path, photos, decoded, monkeypatch
):
    monkeypatch.setattr(image_cache_module, "_CHUNK_ROWS", 2)
    folder = tmp_path / "cache"
    cache_at(folder).save(spec_for(photos))
    for index in (1, 3, 4, 5):
        write_photo(photos[index], seed=50 + index, size=48)
    counting = image_cache_module.decode_photo

    def crash_on_third(path, sizes):
        if len(decoded) == 2:
            raise RuntimeError("killed")
        return counting(path, sizes)

    decoded.clear()
    monkeypatch.setattr(image_cache_module, "decode_photo", crash_on_third)
    with pytest.raises(DatasetError, match="killed"):
        cache_at(folder).save(spec_for(photos))
    assert decoded == ["image_1.jpg", "image_3.jpg"]
    assert not cache_at(folder).exists()  # the half-updated cache is never loaded
    with pytest.raises(DatasetError, match="No image cache"):
        cache_at(folder).load()
    progress = json.loads((folder / "progress.json").read_text())
    assert progress["to_decode"] == [[4, 6]] and progress["done"] == 4
    write_photo(photos[0], seed=60, size=48)  # edited while the run was down
    monkeypatch.setattr(image_cache_module, "decode_photo", counting)
    decoded.clear()
    cache_at(folder).save(spec_for(photos))
    assert decoded == ["image_0.jpg", "image_4.jpg", "image_5.jpg"]
    assert_same_as_fresh_build(folder, spec_for(photos), tmp_path)


def test_cache_of_an_older_format_is_rebuilt(tmp_path, photos, caplog):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"fingerprint": "ab", "sizes": [16]}))
    (folder / "images_16.partial.npy").write_bytes(b"old")
    with pytest.raises(DatasetError, match="made by another version of rakuten_kedro"):
        cache_at(folder).load()
    caplog.set_level("INFO")
    cache_at(folder).save(spec_for(photos))
    assert "(6 photos): it was made by an older version of rakuten_kedro." in caplog.text
    assert not (folder / "images_16.partial.npy").exists()
    assert_same_as_fresh_build(folder, spec_for(photos), tmp_path)
