"""The decode-once image cache: every photo decoded once, resized to each size, kept as uint8.

Training epochs read ``(N, size, size, 3)`` memory maps instead of JPEGs, so the full challenge
data (84,916 photos: ~12.8 GB at 224 px, ~51 GB at 448 px) never has to fit in RAM.

The cache folder, every array row-aligned with ``row_ids.npy``:

- ``images_{size}.npy``: the photos; ``digests_{size}.npy``: a 16-byte digest of each photo
  row, so a model can fingerprint the pixels it learns from and a damaged array is detected;
- ``sources.npy``: a digest of each photo file's path, size and mtime when it was decoded, so
  changing one photo re-decodes only its row;
- ``issues.csv``: the photos replaced by a placeholder, and why;
- ``manifest.json``, written last: the settings and, for every file, its size, mtime and a
  digest. Only a cache whose files match it is loaded or reused;
- ``progress.json``, only while building: the rows left to decode. It is rewritten after each
  chunk's rows are on disk, so a killed build resumes from it and never trusts a row it did
  not finish.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from rakuten_kedro.atomic import atomic_path, write_json_atomically
from rakuten_kedro.distributed import process_rank, wait_for_everyone
from rakuten_kedro.fingerprint import Fingerprint, digest

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 2
PLACEHOLDER_VALUE = 255  # a blank white photo, like the marketplace's own "no image" pictures
ISSUE_COLUMNS = ["row_id", "image_path", "problem", "action"]
DIGEST_BYTES = 16  # per photo row and size: 128 bits, collisions are not a practical concern
_CHUNK_ROWS = 256  # rows decoded between two progress records
_SMALL_FILES = ("row_ids.npy", "sources.npy", "issues.csv")  # verified by a digest of their bytes
_REBUILD_HINT = "Rerun preprocessing to rebuild it: kedro run --pipelines preprocessing"

# Colour modes Pillow converts to RGB faithfully (LAB through littlecms); those with alpha are
# laid on white. 16-bit and float grayscale are scaled by hand (Pillow would clip them).
_PLAIN_MODES = frozenset({"1", "L", "P", "RGB", "CMYK", "YCbCr", "LAB"})
_ALPHA_MODES = frozenset({"LA", "PA", "RGBA"})
_INTEGER_MODES = frozenset({"I", "I;16", "I;16B"})
_SIXTEEN_BIT_MAX = 65535


class BadImageError(ValueError):
    """A photo that cannot be decoded faithfully (missing, empty, truncated, not an image,
    or in a colour format with no known conversion to RGB)."""


def decode_photo(path: str | Path, sizes: Sequence[int]) -> list[np.ndarray]:
    """Decode one photo once and return it at every size as ``(size, size, 3)`` uint8 RGB.

    The EXIF orientation is applied, so photos come out upright. Non-square photos are padded
    with white to a square first, so products are not squashed. Transparent images are laid on
    white; 16-bit grayscale is scaled from 0..65535 and float grayscale from 0..1 to 0..255.

    Raises:
        BadImageError: the file is missing, not a readable image, or cannot be converted to RGB
            faithfully; the message says which.
    """
    path = Path(path)
    if not path.is_file():
        raise BadImageError("missing")
    if path.stat().st_size == 0:
        raise BadImageError("empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            image.draft("RGB", (max(sizes), max(sizes)))  # JPEG: decode at reduced scale
            ImageOps.exif_transpose(image, in_place=True)
            rgb = _to_rgb(image)
    except BadImageError:
        raise
    except Image.DecompressionBombError as error:
        raise BadImageError(f"too large to decode safely ({error})") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BadImageError(f"unreadable ({type(error).__name__}: {error})") from error
    square = _pad_to_square(rgb)
    return [
        np.asarray(square.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
        for size in sizes
    ]


def pixel_digest(photo: np.ndarray) -> np.ndarray:
    """The content digest of one cached photo (a row of ``images(size)``): 16 uint8."""
    return _digest_bytes(photo)


def _digest_bytes(*parts: Any) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(digest(*parts)), dtype=np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _INTEGER_MODES:
        image = _scaled_gray(image, _SIXTEEN_BIT_MAX, "16-bit")
    elif image.mode == "F":
        image = _scaled_gray(image, 1.0, "floating-point")
    elif image.mode not in _PLAIN_MODES | _ALPHA_MODES:
        raise BadImageError(f"in colour mode {image.mode}, which has no known conversion to RGB")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (PLACEHOLDER_VALUE,) * 4)
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _scaled_gray(image: Image.Image, full_scale: float, kind: str) -> Image.Image:
    """8-bit grayscale (``L``, or ``LA`` for a transparency key) from 0..``full_scale`` levels.

    Values outside that range have no known brightness scale, so the photo is refused rather
    than clipped (clipping made a 16-bit photo all white).
    """
    described = f"a {kind} grayscale photo (mode {image.mode})"
    levels = np.asarray(image)
    scaled = levels.astype(np.float32)
    if not np.isfinite(scaled).all():
        raise BadImageError(f"{described} with NaN or infinite values")
    low, high = float(scaled.min()), float(scaled.max())
    if low < 0 or high > full_scale:
        raise BadImageError(
            f"{described} with values from {low:g} to {high:g}, outside 0..{full_scale:g}: "
            "its brightness scale is unknown"
        )
    gray = Image.fromarray(np.rint(scaled * (255 / full_scale)).astype(np.uint8))
    key = image.info.get("transparency")
    if isinstance(key, int | float):
        alpha = np.where(levels == key, 0, 255).astype(np.uint8)
        return Image.merge("LA", (gray, Image.fromarray(alpha)))
    return gray


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

    def fingerprint(self) -> Fingerprint:
        """What every row depends on: a change here rebuilds the whole cache.

        The photo files themselves are not in it: :meth:`source_signatures` tells, row by row,
        which photos to decode again.
        """
        return Fingerprint.of(
            cache_format=CACHE_FORMAT_VERSION,
            image_sizes=[int(size) for size in self.sizes],
            bad_image_policy=self.on_bad_image,
            product_rows=np.asarray(self.row_ids, dtype=np.int64),
        )

    def source_signatures(self) -> np.ndarray:
        """``(N, 16)`` uint8: a digest of each row's photo path, file size and mtime."""
        signatures = np.empty((len(self.image_paths), DIGEST_BYTES), dtype=np.uint8)
        for row, path in enumerate(self.image_paths):
            try:
                stat = os.stat(path)
                signatures[row] = _digest_bytes(path, stat.st_size, stat.st_mtime_ns)
            except OSError:
                signatures[row] = _digest_bytes(path, "missing")
        return signatures


@dataclass
class ImageCache:
    """A built cache: row ids in table order, and per size a read-only memory map of the
    photos and the content digest of each photo."""

    row_ids: np.ndarray
    sizes: list[int]
    issues: pd.DataFrame
    _arrays: dict[int, np.ndarray] = field(repr=False)
    _digests: dict[int, np.ndarray] = field(repr=False)

    def images(self, size: int) -> np.ndarray:
        """The ``(N, size, size, 3)`` uint8 RGB photos, aligned with ``row_ids``."""
        self._check_size(size)
        return self._arrays[size]

    def pixel_digests(self, size: int) -> np.ndarray:
        """The ``(N, 16)`` uint8 content digests of ``images(size)``, aligned with ``row_ids``.

        Row ``i`` is :func:`pixel_digest` of ``images(size)[i]``: computed while the cache was
        built and verified on load, so fingerprinting the pixels of the rows a model learns from
        reads 16 bytes per photo, e.g. ``digest(cache.pixel_digests(size)[positions])``.
        """
        self._check_size(size)
        return self._digests[size]

    def _check_size(self, size: int) -> None:
        if size not in self._arrays:
            raise KeyError(
                f"the image cache holds sizes {self.sizes}, not {size}: add {size} to "
                "preprocessing.image_sizes so the cache builds it."
            )

    def __len__(self) -> int:
        return len(self.row_ids)


class _DecodedRow(NamedTuple):
    photos: list[np.ndarray]
    digests: list[np.ndarray]
    issue: list | None


@dataclass
class _Build:
    """Rows to decode (ascending positions), the issues of the rows already decoded, and each
    photo file's signature, taken before decoding (a photo edited meanwhile is decoded again
    on the next run, never recorded as up to date)."""

    fingerprint: Fingerprint
    sources: np.ndarray
    to_decode: np.ndarray
    issues: list[list]
    fresh: bool


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

    @property
    def _sources_path(self) -> Path:
        return self._path / "sources.npy"

    def _images_path(self, size: int) -> Path:
        return self._path / f"images_{size}.npy"

    def _digests_path(self, size: int) -> Path:
        return self._path / f"digests_{size}.npy"

    def _exists(self) -> bool:
        return self._read_json(self._manifest_path) is not None

    def load(self) -> ImageCache:
        manifest = self._read_json(self._manifest_path)
        if manifest is None:
            raise DatasetError(
                f"No image cache at {self._path}: run the preprocessing pipeline first "
                "(kedro run --pipelines preprocessing)."
            )
        problem, modified = self._check_files(manifest)
        if problem is None and modified:
            problem = f"images_{modified[0]}.npy was modified after the cache was built"
        if problem is not None:
            raise DatasetError(
                f"The image cache at {self._path} does not match its manifest.json: {problem}. "
                f"{_REBUILD_HINT}."
            )
        sizes = [int(s) for s in manifest["sizes"]]
        arrays = {s: np.load(self._images_path(s), mmap_mode="r") for s in sizes}
        digests = {s: np.load(self._digests_path(s)) for s in sizes}
        for array in digests.values():
            array.flags.writeable = False
        issues = pd.read_csv(self._path / "issues.csv")
        return ImageCache(np.load(self._path / "row_ids.npy"), sizes, issues, arrays, digests)

    #: ``MainProcessSavesHooks`` leaves it alone: under a multi-process launch rank 0 builds the
    #: cache and the other ranks wait for it, then memory-map the same files.
    builds_on_main_process_only = True

    def save(self, data: ImageCacheSpec) -> None:
        if process_rank() == 0:
            self._build(data)
        wait_for_everyone()

    def _build(self, data: ImageCacheSpec) -> None:
        with ThreadPoolExecutor(self._workers) as pool:
            build = self._plan(data, pool)
            if build is None:
                logger.info(
                    "Image cache %s is up to date (%d photos).", self._path, len(data.row_ids)
                )
                return
            self._decode(data, build, pool)
        self._finish(data, build)

    # -- verifying ------------------------------------------------------------------------------

    def _check_files(self, manifest: dict) -> tuple[str | None, list[int]]:
        """The first file that does not match ``manifest`` (in words, else ``None``), and the
        sizes whose photo array has the right length but another mtime (its rows must be
        checked against their digests before they are trusted again)."""
        if manifest.get("format") != CACHE_FORMAT_VERSION:
            return "it was made by another version of rakuten_kedro", []
        records = manifest.get("files") or {}
        for name in _SMALL_FILES:
            path = self._path / name
            problem = _length_problem(path, records.get(name))
            if problem is None and digest(path.read_bytes()) != records[name]["digest"]:
                problem = f"{name} was changed after the cache was built"
            if problem is not None:
                return problem, []
        modified = []
        for size in manifest["sizes"]:
            record = records.get(f"images_{size}.npy")
            problem = _length_problem(self._images_path(size), record)
            if problem is not None:
                return problem, []
            if self._stored_digests_digest(size) != record["digest"]:
                return f"digests_{size}.npy does not hold the digests of images_{size}.npy", []
            if self._images_path(size).stat().st_mtime_ns != record["mtime_ns"]:
                modified.append(int(size))
        return None, modified

    def _stored_digests_digest(self, size: int) -> str | None:
        try:
            return digest(np.load(self._digests_path(size)))
        except (OSError, ValueError):
            return None

    def _rows_not_matching_digests(self, size: int, pool: ThreadPoolExecutor) -> np.ndarray:
        """Re-hash every row of a modified photo array; ``True`` where it differs."""
        name = self._images_path(size).name
        images = np.load(self._images_path(size), mmap_mode="r")
        stored = np.load(self._digests_path(size))
        differs = np.zeros(len(images), dtype=bool)
        with tqdm(total=len(images), desc=f"checking {name}", unit="photo", mininterval=2.0) as bar:
            for rows in _chunks(np.arange(len(images))):
                actual = np.stack(list(pool.map(lambda row: pixel_digest(images[row]), rows)))
                differs[rows] = (actual != stored[rows]).any(axis=1)
                bar.update(len(rows))
        logger.warning(
            "%s was modified after the cache was built: %d of %d photo(s) differ from their "
            "digests%s.",
            name,
            differs.sum(),
            len(images),
            "; re-decoding them" if differs.any() else "",
        )
        return differs

    # -- deciding what to decode -------------------------------------------------------------

    def _plan(self, spec: ImageCacheSpec, pool: ThreadPoolExecutor) -> _Build | None:
        """What to decode: nothing (``None``), the changed rows, the rest of a killed build, or
        everything."""
        self._path.mkdir(parents=True, exist_ok=True)
        fingerprint = spec.fingerprint()
        sources = spec.source_signatures()
        manifest = self._read_json(self._manifest_path)
        if manifest is not None and fingerprint.matches(manifest.get("fingerprint")):
            problem, modified = self._check_files(manifest)
            if problem is None:
                return self._plan_update(spec, fingerprint, sources, modified, pool)
            logger.warning("Image cache %s: %s; rebuilding it.", self._path, problem)
        else:
            progress = self._read_json(self._progress_path)
            if (
                progress is not None
                and fingerprint.matches(progress.get("fingerprint"))
                and self._arrays_fit(spec)
            ):
                return self._plan_resume(spec, fingerprint, sources, progress)
            reason = (
                "it does not exist yet"
                if manifest is None
                else fingerprint.changes_since(manifest.get("fingerprint"))
            )
            logger.info(
                "Building the image cache %s (%d photos): %s.", self._path, len(sources), reason
            )
        everything = np.arange(len(sources))
        return self._start(spec, _Build(fingerprint, sources, everything, [], fresh=True))

    def _plan_update(
        self,
        spec: ImageCacheSpec,
        fingerprint: Fingerprint,
        sources: np.ndarray,
        modified: list[int],
        pool: ThreadPoolExecutor,
    ) -> _Build | None:
        damaged = np.zeros(len(sources), dtype=bool)
        for size in modified:
            damaged |= self._rows_not_matching_digests(size, pool)
        changed = self._changed_photos(sources, ~damaged)
        to_decode = np.flatnonzero(damaged | changed)
        if not len(to_decode):
            if modified:  # same rows, another mtime: record it so the next check is cheap
                self._write_manifest(spec, fingerprint)
            self._progress_path.unlink(missing_ok=True)
            return None
        issues = _issues_without(self._read_issues(), spec.row_ids[to_decode])
        return self._start(spec, _Build(fingerprint, sources, to_decode, issues, fresh=False))

    def _plan_resume(
        self, spec: ImageCacheSpec, fingerprint: Fingerprint, sources: np.ndarray, progress: dict
    ) -> _Build:
        logger.info("Resuming the image cache at photo %d of %d.", progress["done"], len(sources))
        left = _rows_of(progress["to_decode"])
        decoded = np.ones(len(sources), dtype=bool)
        decoded[left] = False
        changed = np.flatnonzero(self._changed_photos(sources, decoded))
        issues = _issues_without(progress["issues"], spec.row_ids[changed])
        to_decode = np.union1d(left, changed)
        return self._start(spec, _Build(fingerprint, sources, to_decode, issues, fresh=False))

    def _changed_photos(self, sources: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Among ``rows`` (a mask), those whose photo file changed since it was decoded."""
        changed = rows & (np.load(self._sources_path) != sources).any(axis=1)
        if changed.any():
            logger.info(
                "Image cache %s: %d of %d photo(s) changed since they were decoded; "
                "re-decoding them.",
                self._path,
                changed.sum(),
                len(sources),
            )
        return changed

    def _start(self, spec: ImageCacheSpec, build: _Build) -> _Build:
        """Record what is left to decode, then stop trusting the old cache: until the manifest
        is written again, ``progress.json`` alone says which rows are done (a fresh build has
        none until its first chunk, so an older record is removed before the arrays are)."""
        if build.fresh:
            self._progress_path.unlink(missing_ok=True)
            self._manifest_path.unlink(missing_ok=True)
            self._create_arrays(spec)
        else:
            self._write_progress(build, len(spec.row_ids) - len(build.to_decode), build.to_decode)
            self._manifest_path.unlink(missing_ok=True)
        return build

    # -- decoding -----------------------------------------------------------------------------

    def _decode(self, spec: ImageCacheSpec, build: _Build, pool: ThreadPoolExecutor) -> None:
        total = len(spec.row_ids)
        done = total - len(build.to_decode)
        label = f"image cache {self._path.name} ({'/'.join(map(str, spec.sizes))} px)"
        with (
            ExitStack() as files,
            tqdm(total=total, initial=done, desc=label, unit="photo", mininterval=2.0) as bar,
        ):
            images = {s: files.enter_context(_RowWriter(self._images_path(s))) for s in spec.sizes}
            digests = {
                s: files.enter_context(_RowWriter(self._digests_path(s))) for s in spec.sizes
            }
            sources = files.enter_context(_RowWriter(self._sources_path))
            left = build.to_decode
            for rows in _chunks(build.to_decode):
                decoded_rows = pool.map(partial(_decode_row, spec), rows)
                for row, decoded in zip(rows, decoded_rows, strict=True):
                    for size, photo, photo_digest in zip(
                        spec.sizes, decoded.photos, decoded.digests, strict=True
                    ):
                        images[size].write(row, photo)
                        digests[size].write(row, photo_digest)
                    sources.write(row, build.sources[row])
                    if decoded.issue:
                        build.issues.append(decoded.issue)
                for writer in (*images.values(), *digests.values(), sources):
                    writer.sync()
                done, left = done + len(rows), left[len(rows) :]
                self._write_progress(build, done, left)
                bar.update(len(rows))

    def _write_progress(self, build: _Build, done: int, left: np.ndarray) -> None:
        """The commit record of a build: written only once the rows it calls done are synced."""
        write_json_atomically(
            self._progress_path,
            {
                "fingerprint": build.fingerprint.as_dict(),
                "done": done,
                "to_decode": _runs(left),
                "issues": build.issues,
            },
        )

    def _finish(self, spec: ImageCacheSpec, build: _Build) -> None:
        with atomic_path(self._path / "row_ids.npy") as temp, temp.open("wb") as handle:
            np.save(handle, np.asarray(spec.row_ids, dtype=np.int64))
        position = dict(
            zip(np.asarray(spec.row_ids).tolist(), range(len(spec.row_ids)), strict=True)
        )
        issues = sorted(build.issues, key=lambda issue: position[issue[0]])  # as a fresh build
        with atomic_path(self._path / "issues.csv") as temp:
            pd.DataFrame(issues, columns=ISSUE_COLUMNS).to_csv(temp, index=False)
        self._write_manifest(spec, build.fingerprint)
        self._progress_path.unlink(missing_ok=True)
        if issues:
            logger.warning(
                "%d photo(s) replaced by a blank placeholder in %s.", len(issues), self._path
            )

    def _write_manifest(self, spec: ImageCacheSpec, fingerprint: Fingerprint) -> None:
        files = {
            name: _file_record(self._path / name, digest((self._path / name).read_bytes()))
            for name in _SMALL_FILES
        }
        for size in spec.sizes:
            files[f"images_{size}.npy"] = _file_record(
                self._images_path(size), digest(np.load(self._digests_path(size)))
            )
        write_json_atomically(
            self._manifest_path,
            {
                "format": CACHE_FORMAT_VERSION,
                "fingerprint": fingerprint.as_dict(),
                "sizes": [int(size) for size in spec.sizes],
                "rows": len(spec.row_ids),
                "files": files,
            },
        )

    # -- files --------------------------------------------------------------------------------

    def _array_shapes(self, spec: ImageCacheSpec) -> dict[Path, tuple[int, ...]]:
        rows = len(spec.row_ids)
        shapes = {self._sources_path: (rows, DIGEST_BYTES)}
        for size in spec.sizes:
            shapes[self._images_path(size)] = (rows, size, size, 3)
            shapes[self._digests_path(size)] = (rows, DIGEST_BYTES)
        return shapes

    def _arrays_fit(self, spec: ImageCacheSpec) -> bool:
        return all(_npy_shape(path) == shape for path, shape in self._array_shapes(spec).items())

    def _create_arrays(self, spec: ImageCacheSpec) -> None:
        shapes = self._array_shapes(spec)
        for stale in self._path.glob("*.npy"):  # other sizes, or an older format's files
            if stale not in shapes and stale.name != "row_ids.npy":
                stale.unlink()
        for path, shape in shapes.items():
            _create_npy(path, shape)

    def _read_issues(self) -> list[list]:
        table = pd.read_csv(self._path / "issues.csv", keep_default_na=False)
        return [[int(row_id), *rest] for row_id, *rest in table[ISSUE_COLUMNS].itertuples(False)]

    @staticmethod
    def _read_json(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


def _decode_row(spec: ImageCacheSpec, row: int) -> _DecodedRow:
    path = spec.image_paths[row]
    try:
        photos, issue = decode_photo(path, spec.sizes), None
    except BadImageError as error:
        row_id = int(spec.row_ids[row])
        if spec.on_bad_image == "error":
            raise DatasetError(
                f"Photo of product row_id {row_id} is {error}: {path}. Fix or remove it, or "
                'run with --params "images.on_bad_image=placeholder" to use a blank photo.'
            ) from error
        photos = [np.full((s, s, 3), PLACEHOLDER_VALUE, np.uint8) for s in spec.sizes]
        issue = [row_id, path, str(error), "blank placeholder"]
    return _DecodedRow(photos, [pixel_digest(photo) for photo in photos], issue)


class _RowWriter:
    """Writes rows of an existing ``.npy`` file in place.

    Plain file writes instead of a writable memory map keep the build's memory flat.
    """

    def __init__(self, path: Path) -> None:
        self._offset = np.load(path, mmap_mode="r").offset
        self._handle = path.open("r+b")

    def write(self, row: int, values: np.ndarray) -> None:
        self._handle.seek(self._offset + int(row) * values.nbytes)
        self._handle.write(values.tobytes())

    def sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def __enter__(self) -> _RowWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self._handle.close()


def _chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(rows), _CHUNK_ROWS):
        yield rows[start : start + _CHUNK_ROWS]


def _runs(rows: np.ndarray) -> list[list[int]]:
    """Ascending row positions as ``[start, stop)`` runs: a whole build is one pair."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    return [[int(run[0]), int(run[-1]) + 1] for run in np.split(rows, breaks)]


def _rows_of(runs: list[list[int]]) -> np.ndarray:
    if not runs:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(start, stop) for start, stop in runs])


def _issues_without(issues: list[list], row_ids: np.ndarray) -> list[list]:
    """The issues of the rows not about to be decoded again."""
    redone = set(np.asarray(row_ids).tolist())
    return [issue for issue in issues if issue[0] not in redone]


def _file_record(path: Path, content_digest: str) -> dict[str, Any]:
    stat = path.stat()
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "digest": content_digest}


def _length_problem(path: Path, record: dict | None) -> str | None:
    if record is None:
        return f"{path.name} is not in it"
    if not path.is_file():
        return f"{path.name} is missing"
    size, expected = path.stat().st_size, int(record["bytes"])
    if size < expected:
        return f"{path.name} was truncated ({size:,} of {expected:,} bytes)"
    if size > expected:
        return f"{path.name} has {size:,} bytes where {expected:,} were written"
    return None


def _npy_shape(path: Path) -> tuple[int, ...] | None:
    """The shape of a uint8 ``.npy`` file whose data is all there, else ``None``."""
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return array.shape if array.dtype == np.uint8 else None


def _create_npy(path: Path, shape: tuple[int, ...]) -> None:
    """Create a sparse ``.npy`` file of uint8 zeros without touching its pages."""
    with path.open("wb") as handle:
        header = {"descr": "|u1", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(handle, header)
        handle.truncate(handle.tell() + int(np.prod(shape)))
