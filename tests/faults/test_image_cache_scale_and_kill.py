"""The image cache under stress: memory stays flat as photos grow; a killed build resumes."""

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

from rakuten_kedro.datasets import ImageCacheDataset, ImageCacheSpec
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
    tracemalloc.start()
    ImageCacheDataset(path=str(path), workers=2).save(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


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


def test_killed_build_resumes_and_matches_an_uninterrupted_one(tmp_path: Path, few_photos, caplog):
    cache_dir = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(BUILD_SLOWLY), str(cache_dir), *few_photos]
    )
    progress = cache_dir / "progress.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = json.loads(progress.read_text())["done"] if progress.is_file() else 0
        if done >= 200:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 200 <= done < 3000, "the build was not caught mid-way"

    resumed = ImageCacheDataset(path=str(cache_dir))
    assert not resumed.exists()
    caplog.set_level("INFO")
    resumed.save(spec_of(3000, few_photos))
    assert "Resuming the image cache at photo" in caplog.text
    fresh = ImageCacheDataset(path=str(tmp_path / "fresh"))
    fresh.save(spec_of(3000, few_photos))
    np.testing.assert_array_equal(resumed.load().images(32), fresh.load().images(32))
