"""The image cache under stress: memory stays flat as photos grow; a killed build (whole or
partial) resumes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from rakuten_kedro.datasets import ImageCacheDataset, ImageCacheSpec, image_cache
from tests.fixtures import write_photo


@pytest.fixture
def few_photos(tmp_path: Path) -> list[str]:
    paths = [tmp_path / "photos" / f"p{i}.jpg" for i in range(10)]
    for seed, path in enumerate(paths):
        write_photo(path, seed, size=48)
    return [str(p) for p in paths]


def spec_of(n: int, photos: list[str], size: int = 32) -> ImageCacheSpec:
    return ImageCacheSpec(
        row_ids=np.arange(n),
        image_paths=tuple(photos[i % len(photos)] for i in range(n)),
        sizes=(size,),
    )


def peak_build_memory(path: Path, spec: ImageCacheSpec) -> int:
    """The lower peak of two builds: a one-off growth of the interpreter's own tables (its
    interned-string dict grows by megabytes in one step, late in a long test session) is not
    the builder's memory, and does not happen twice in a row."""
    peaks = []
    for attempt in ("first", "second"):
        tracemalloc.start()
        ImageCacheDataset(path=str(path / attempt), workers=2).save(spec)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return min(peaks)


def test_build_memory_stays_flat_as_photos_grow(tmp_path: Path, few_photos):
    small = peak_build_memory(tmp_path / "small", spec_of(200, few_photos))
    large = peak_build_memory(tmp_path / "large", spec_of(2000, few_photos))
    whole_large_array = 2000 * 32 * 32 * 3
    assert large < small * 1.5 + 256_000, (small, large)
    assert large < whole_large_array / 2  # never holds the whole cache in memory


BUILD_SLOWLY = """
import sys, time
import numpy as np
from rakuten_kedro.datasets import image_cache
original = image_cache.decode_photo
image_cache.decode_photo = lambda p, s: time.sleep(0.003) or original(p, s)
image_cache._CHUNK_ROWS = 50
photos = sys.argv[2:]
spec = image_cache.ImageCacheSpec(
    row_ids=np.arange(3000), image_paths=tuple(photos[i % len(photos)] for i in range(3000)),
    sizes=(32,))
image_cache.ImageCacheDataset(path=sys.argv[1], workers=1).save(spec)
"""


def kill_mid_build(cache_dir: Path, photos: list[str], once_done: int) -> int:
    """Run BUILD_SLOWLY, SIGKILL it once ``once_done`` photos are recorded; return that count."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(BUILD_SLOWLY), str(cache_dir), *photos]
    )
    progress = cache_dir / "progress.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = json.loads(progress.read_text())["done"] if progress.is_file() else 0
        if done >= once_done:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert once_done <= done < 3000, "the build was not caught mid-way"
    return done


def assert_same_as_fresh_build(cache_dir: Path, photos: list[str], tmp_path: Path) -> None:
    fresh = ImageCacheDataset(path=str(tmp_path / "fresh"))
    fresh.save(spec_of(3000, photos))
    resumed, expected = ImageCacheDataset(path=str(cache_dir)).load(), fresh.load()
    np.testing.assert_array_equal(resumed.images(32), expected.images(32))
    np.testing.assert_array_equal(resumed.pixel_digests(32), expected.pixel_digests(32))


def test_killed_build_resumes_and_matches_an_uninterrupted_one(tmp_path: Path, few_photos, caplog):
    cache_dir = tmp_path / "cache"
    kill_mid_build(cache_dir, few_photos, once_done=200)
    resumed = ImageCacheDataset(path=str(cache_dir))
    assert not resumed.exists()
    caplog.set_level("INFO")
    resumed.save(spec_of(3000, few_photos))
    assert "Resuming the image cache at photo" in caplog.text
    assert_same_as_fresh_build(cache_dir, few_photos, tmp_path)


def test_killed_partial_rebuild_resumes_and_matches_an_uninterrupted_one(
    tmp_path: Path, few_photos, caplog, monkeypatch
):
    cache_dir = tmp_path / "cache"
    ImageCacheDataset(path=str(cache_dir)).save(spec_of(3000, few_photos))
    for seed in (3, 7):  # 600 of the 3000 rows show one of these two photos
        write_photo(Path(few_photos[seed]), seed=100 + seed, size=48)
    done = kill_mid_build(cache_dir, few_photos, once_done=2500)
    resumed = ImageCacheDataset(path=str(cache_dir))
    assert not resumed.exists()
    decoded = []
    original = image_cache.decode_photo
    monkeypatch.setattr(
        image_cache, "decode_photo", lambda p, s: decoded.append(p) or original(p, s)
    )
    caplog.set_level("INFO")
    resumed.save(spec_of(3000, few_photos))
    assert f"Resuming the image cache at photo {done} of 3000." in caplog.text
    assert len(decoded) == 3000 - done and set(decoded) == {few_photos[3], few_photos[7]}
    monkeypatch.undo()
    assert_same_as_fresh_build(cache_dir, few_photos, tmp_path)
