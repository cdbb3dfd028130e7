"""The decode-once image cache: every photo decoded once, resized to each size, kept as uint8.

Training epochs read ``(N, size, size, 3)`` memory maps instead of JPEGs, so the full challenge
data (84,916 photos: ~12.8 GB at 224 px, ~51 GB at 448 px) never has to fit in RAM. The cache
is rebuilt only when its inputs change (photo paths, sizes and modification times, the sizes
asked for), and an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from rakuten_kedro.atomic import atomic_path, write_json_atomically

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1
PLACEHOLDER_VALUE = 255  # a blank white photo, like the marketplace's own "no image" pictures
ISSUE_COLUMNS = ["row_id", "image_path", "problem", "action"]
_CHUNK_ROWS = 256  # rows decoded between two progress records


class BadImageError(ValueError):
    """A photo that cannot be decoded (missing, empty, truncated, not an image)."""


def decode_photo(path: str | Path, sizes: Sequence[int]) -> list[np.ndarray]:
    """Decode one photo once and return it at every size as ``(size, size, 3)`` uint8 RGB.

    Non-square photos are padded with white to a square first, so products are not squashed.
    Transparent images are laid on white; CMYK, grayscale and palette images become RGB.

    Raises:
        BadImageError: the file is missing or not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise BadImageError("missing")
    if path.stat().st_size == 0:
        raise BadImageError("empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            image.draft("RGB", (max(sizes), max(sizes)))  # JPEG: decode at reduced scale
            rgb = _to_rgb(image)
    except Image.DecompressionBombError as error:
        raise BadImageError(f"too large to decode safely ({error})") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BadImageError(f"unreadable ({type(error).__name__}: {error})") from error
    square = _pad_to_square(rgb)
    return [
        np.asarray(square.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
        for size in sizes
    ]


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _pad_to_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    square = Image.new("RGB", (side, side), (PLACEHOLDER_VALUE,) * 3)
    square.paste(image, ((side - width) // 2, (side - height) // 2))
    return square


@dataclass(frozen=True)
class ImageCacheSpec:
    """What to cache: returned by a node, built by ``ImageCacheDataset.save``."""

    row_ids: np.ndarray
    image_paths: tuple[str, ...]
    sizes: tuple[int, ...]
    on_bad_image: Literal["error", "placeholder"] = "error"

    def __post_init__(self) -> None:
        if len(self.row_ids) != len(self.image_paths):
            raise ValueError("row_ids and image_paths must have the same length")
        if not self.sizes or any(int(s) <= 0 for s in self.sizes):
            raise ValueError(f"image sizes must be positive integers, not {self.sizes}")

    def fingerprint(self) -> str:
        """A hash of everything the cache's content depends on."""
        digest = hashlib.sha256()
        digest.update(json.dumps([CACHE_FORMAT_VERSION, list(self.sizes)]).encode())
        digest.update(self.on_bad_image.encode())
        for row_id, path in zip(self.row_ids.tolist(), self.image_paths, strict=True):
            try:
                stat = os.stat(path)
                signature = f"{row_id}|{path}|{stat.st_size}|{stat.st_mtime_ns}\n"
            except OSError:
                signature = f"{row_id}|{path}|missing\n"
            digest.update(signature.encode())
        return digest.hexdigest()


@dataclass
class ImageCache:
    """A built cache: row ids in table order, and one read-only memory map per size."""

    row_ids: np.ndarray
    sizes: list[int]
    issues: pd.DataFrame
    _arrays: dict[int, np.ndarray] = field(repr=False)

    def images(self, size: int) -> np.ndarray:
        """The ``(N, size, size, 3)`` uint8 RGB photos, aligned with ``row_ids``."""
        if size not in self._arrays:
            raise KeyError(
                f"the image cache holds sizes {self.sizes}, not {size}: add {size} to "
                "preprocessing.image_sizes so the cache builds it."
            )
        return self._arrays[size]

    def __len__(self) -> int:
        return len(self.row_ids)


class ImageCacheDataset(AbstractDataset[ImageCacheSpec, ImageCache]):
    """Kedro dataset that builds (on save) and memory-maps (on load) the image cache.

    Example catalog entry::

        image_cache:
          type: rakuten_kedro.datasets.ImageCacheDataset
          path: data/05_model_input/image_cache/labelled
    """

    def __init__(
        self, *, path: str, workers: int | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        """Args:
        path: The cache folder (created; owned by the cache).
        workers: Decoding threads (default: the number of CPUs, at most 8).
        metadata: Free-form metadata (kedro-viz layer).
        """
        self._path = Path(path)
        self._workers = workers or min(8, os.cpu_count() or 1)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}

    @property
    def _manifest_path(self) -> Path:
        return self._path / "manifest.json"

    @property
    def _progress_path(self) -> Path:
        return self._path / "progress.json"

    def _array_path(self, size: int, partial: bool = False) -> Path:
        return self._path / (f"images_{size}.partial.npy" if partial else f"images_{size}.npy")

    def _exists(self) -> bool:
        return self._read_json(self._manifest_path) is not None

    def load(self) -> ImageCache:
        manifest = self._read_json(self._manifest_path)
        if manifest is None:
            raise DatasetError(
                f"No image cache at {self._path}: run the preprocessing pipeline first "
                "(kedro run --pipelines preprocessing)."
            )
        sizes = [int(s) for s in manifest["sizes"]]
        arrays = {s: np.load(self._array_path(s), mmap_mode="r") for s in sizes}
        issues = pd.read_csv(self._path / "issues.csv")
        return ImageCache(np.load(self._path / "row_ids.npy"), sizes, issues, arrays)

    def save(self, data: ImageCacheSpec) -> None:
        fingerprint = data.fingerprint()
        manifest = self._read_json(self._manifest_path)
        if manifest is not None and manifest.get("fingerprint") == fingerprint:
            logger.info("Image cache %s is up to date (%d photos).", self._path, len(data.row_ids))
            return
        self._build(data, fingerprint)

    # -- building ---------------------------------------------------------------------------

    def _build(self, spec: ImageCacheSpec, fingerprint: str) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        self._manifest_path.unlink(missing_ok=True)  # the old cache is no longer trusted
        start, issues = self._resume_point(spec, fingerprint)
        files = self._open_partial_arrays(spec, resume=start > 0)
        try:
            self._decode_into(spec, files, start, issues, fingerprint)
        finally:
            for handle, _ in files.values():
                handle.close()
        for size in spec.sizes:
            os.replace(self._array_path(size, partial=True), self._array_path(size))
        with atomic_path(self._path / "row_ids.npy") as temp, temp.open("wb") as handle:
            np.save(handle, np.asarray(spec.row_ids, dtype=np.int64))
        with atomic_path(self._path / "issues.csv") as temp:
            pd.DataFrame(issues, columns=ISSUE_COLUMNS).to_csv(temp, index=False)
        write_json_atomically(
            self._manifest_path,
            {"fingerprint": fingerprint, "sizes": list(spec.sizes), "rows": len(spec.row_ids)},
        )
        self._progress_path.unlink(missing_ok=True)
        if issues:
            logger.warning(
                "%d photo(s) replaced by a blank placeholder in %s.", len(issues), self._path
            )

    def _resume_point(self, spec: ImageCacheSpec, fingerprint: str) -> tuple[int, list[list]]:
        progress = self._read_json(self._progress_path)
        partials_present = all(self._array_path(s, partial=True).is_file() for s in spec.sizes)
        if progress and progress.get("fingerprint") == fingerprint and partials_present:
            logger.info(
                "Resuming the image cache at photo %d of %d.", progress["done"], len(spec.row_ids)
            )
            return int(progress["done"]), progress["issues"]
        for stale in self._path.glob("images_*.partial.npy"):
            stale.unlink()
        return 0, []

    def _open_partial_arrays(
        self, spec: ImageCacheSpec, resume: bool
    ) -> dict[int, tuple[Any, int]]:
        """Open one ``.npy`` file per size for writing; returns ``{size: (handle, offset)}``.

        Plain file writes instead of a writable memory map keep the build's memory flat.
        """
        files = {}
        for size in spec.sizes:
            path = self._array_path(size, partial=True)
            if not resume:
                _create_npy(path, (len(spec.row_ids), size, size, 3))
            header = np.load(path, mmap_mode="r").offset
            files[size] = (path.open("r+b"), header)
        return files

    def _decode_into(
        self,
        spec: ImageCacheSpec,
        files: dict[int, tuple[Any, int]],
        start: int,
        issues: list[list],
        fingerprint: str,
    ) -> None:
        total = len(spec.row_ids)
        label = f"image cache {self._path.name} ({'/'.join(map(str, spec.sizes))} px)"
        with (
            ThreadPoolExecutor(self._workers) as pool,
            tqdm(total=total, initial=start, desc=label, unit="photo", mininterval=2.0) as bar,
        ):
            for chunk_start in range(start, total, _CHUNK_ROWS):
                rows = range(chunk_start, min(chunk_start + _CHUNK_ROWS, total))
                decoded = pool.map(lambda i: self._decode_row(spec, i), rows)
                for row, (photos, issue) in zip(rows, decoded, strict=True):
                    if issue:
                        issues.append(issue)
                    for size, photo in zip(spec.sizes, photos, strict=True):
                        handle, offset = files[size]
                        handle.seek(offset + row * photo.nbytes)
                        handle.write(photo.tobytes())
                for handle, _ in files.values():
                    handle.flush()
                    os.fsync(handle.fileno())
                write_json_atomically(
                    self._progress_path,
                    {"fingerprint": fingerprint, "done": rows.stop, "issues": issues},
                )
                bar.update(len(rows))

    @staticmethod
    def _decode_row(spec: ImageCacheSpec, row: int) -> tuple[list[np.ndarray], list | None]:
        path = spec.image_paths[row]
        try:
            return decode_photo(path, spec.sizes), None
        except BadImageError as error:
            row_id = int(spec.row_ids[row])
            if spec.on_bad_image == "error":
                raise DatasetError(
                    f"Photo of product row_id {row_id} is {error}: {path}. Fix or remove it, or "
                    'run with --params "images.on_bad_image=placeholder" to use a blank photo.'
                ) from error
            blanks = [np.full((s, s, 3), PLACEHOLDER_VALUE, np.uint8) for s in spec.sizes]
            return blanks, [row_id, path, str(error), "blank placeholder"]

    @staticmethod
    def _read_json(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


def _create_npy(path: Path, shape: tuple[int, ...]) -> None:
    """Create a sparse ``.npy`` file of uint8 zeros without touching its pages."""
    with path.open("wb") as handle:
        header = {"descr": "|u1", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(handle, header)
        handle.truncate(handle.tell() + int(np.prod(shape)))
