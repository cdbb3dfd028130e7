"""rakuten_kedro: multimodal product classification (Rakuten SIGIR 2020 eCom challenge)."""

__version__ = "0.1.0"
