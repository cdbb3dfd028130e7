"""Image loading: the decode-once cache vs decoding the JPEGs every epoch.

Measures (1) building the cache (photos/s, every photo decoded once into 32 and 64 px memory
maps) and (2) one training epoch of reads at 64 px through the real torch ``DataLoader``:
``CachedImageDataset`` memmap rows vs a dataset that opens and resizes each JPEG with PIL on
every access (the naive way), and vs the project's own decoder (``decode_photo``, JPEG draft
mode) called per sample. Ratio = cache images/s ÷ naive images/s.

    python benchmarks/image_loading.py [--n 600] [--photo-size 128]
    python benchmarks/image_loading.py --photo-size 500   # the demo's real photo size
"""

from __future__ import annotations

import argparse
import shutil
import time

import common
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from rakuten_kedro.datasets.image_cache import ImageCacheDataset, decode_photo
from rakuten_kedro.pipelines.preprocessing.nodes import describe_image_cache
from rakuten_kedro.vision.data import CachedImageDataset, image_loader

SIZE = 64


class JpegEveryEpoch(Dataset):
    """The naive way: open, convert and resize the JPEG at every access."""

    def __init__(self, paths: list[str], size: int, project_decoder: bool = False) -> None:
        self.paths, self.size, self.project_decoder = paths, size, project_decoder

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: int) -> dict:
        if self.project_decoder:
            array = decode_photo(self.paths[item], [self.size])[0]
        else:
            with Image.open(self.paths[item]) as image:
                array = np.asarray(image.convert("RGB").resize((self.size, self.size)))
        return {"images": torch.from_numpy(array.copy()), "index": torch.tensor(item)}


def epoch_images_per_s(dataset: Dataset, batch_size: int = 64) -> float:

    loader = image_loader(dataset, batch_size=batch_size, shuffle=True, seed=0)

    def one_epoch() -> None:
        for batch in loader:
            batch["images"].float().sum()  # touch the pixels, as a model would

    return len(dataset) / common.timeit(one_epoch, repeat=3, warmup=1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="labelled products")
    parser.add_argument("--photo-size", type=int, default=128, help="side of the demo JPEGs")
    args = parser.parse_args(argv)
    common.start("image_loading" + ("" if args.photo_size == 128 else f"_{args.photo_size}px"))

    products = common.demo_products(common.demo_dir(args.n, image_size=args.photo_size))
    paths = products["image_path"].astype(str).tolist()

    # (1) cache build, from scratch, into a fresh folder
    folder = common.SCRATCH / "image_loading_cache"
    shutil.rmtree(folder, ignore_errors=True)
    spec = describe_image_cache(products, {"sizes": [32, SIZE], "on_bad_image": "placeholder"})
    t0 = time.perf_counter()
    ImageCacheDataset(path=str(folder)).save(spec)
    build_s = time.perf_counter() - t0
    cache = ImageCacheDataset(path=str(folder)).load()

    # (2) one epoch of reads through the DataLoader
    cached = CachedImageDataset(cache.images(SIZE), np.arange(len(cache)))
    cached_rate = epoch_images_per_s(cached)
    naive_rate = epoch_images_per_s(JpegEveryEpoch(paths, SIZE))
    draft_rate = epoch_images_per_s(JpegEveryEpoch(paths, SIZE, project_decoder=True))
    shutil.rmtree(folder, ignore_errors=True)

    source = f"{args.photo_size} px JPEGs"
    rows = [
        common.row(
            f"cache build ({len(paths)} photos, 32+64 px)",
            len(paths) / build_s,
            "photos/s",
            note=f"{build_s:.2f} s, {source}, incl. fsync + manifest",
        ),
        common.row(
            f"epoch read {SIZE} px: cache vs PIL open+resize",
            cached_rate,
            "images/s",
            naive=naive_rate,
            note=f"naive = PIL open+convert+resize of {source} per sample, every epoch",
        ),
        common.row(
            f"epoch read {SIZE} px: cache vs decode_photo per sample",
            cached_rate,
            "images/s",
            naive=draft_rate,
            note="decode_photo = the cache's own decoder (JPEG draft mode + pad + resize)",
        ),
    ]
    return common.finish(rows, params={"n_photos": len(paths), "photo_size": args.photo_size})


if __name__ == "__main__":
    main()
