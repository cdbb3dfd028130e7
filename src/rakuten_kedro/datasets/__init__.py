"""Custom Kedro datasets of rakuten_kedro."""

from rakuten_kedro.datasets.image_cache import ImageCache, ImageCacheDataset, ImageCacheSpec
from rakuten_kedro.datasets.rakuten_raw import RakutenRawDataset

__all__ = ["ImageCache", "ImageCacheDataset", "ImageCacheSpec", "RakutenRawDataset"]
