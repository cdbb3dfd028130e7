"""One fingerprint for every reuse decision: caches, tokenizers, checkpoints, fitted models.

Earlier work is reused only when it was made from the same *settings* and the same *content*:
the parameters that change the result, and the data the step learned from (the cleaned text
and labels of its rows, the digests of their cached pixels). A fingerprint is a set of named
parts, each a digest, so that a mismatch can say what changed ("training text changed since
the checkpoint") instead of only that something did.

Digests are SHA-256 over a canonical encoding: JSON with sorted keys for settings, the raw
bytes (with dtype and shape) for arrays, UTF-8 for text, so the same inputs give the same
digest on every machine and in every process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Bumped when what a fingerprint covers changes, so older checkpoints are not trusted.
FINGERPRINT_VERSION = 2
_DIGEST_CHARS = 32  # 128 bits: collisions are not a practical concern


def _update(hasher: Any, part: Any) -> None:
    if isinstance(part, np.ndarray):
        array = np.ascontiguousarray(part)
        hasher.update(f"ndarray:{array.dtype.str}:{array.shape}:".encode())
        hasher.update(array.tobytes())
    elif isinstance(part, bytes | bytearray | memoryview):
        hasher.update(b"bytes:")
        hasher.update(bytes(part))
    else:
        text = json.dumps(part, sort_keys=True, default=_json_default, ensure_ascii=False)
        hasher.update(f"json:{len(text)}:".encode())
        hasher.update(text.encode("utf-8"))
    hasher.update(b"\x00")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


def digest(*parts: Any) -> str:
    """A stable hex digest of settings (JSON-able), arrays, bytes and text, in order.

    Args:
        *parts: Anything JSON-serialisable (dicts are key-sorted), numpy arrays, or bytes.

    Returns:
        32 hex digits.
    """
    hasher = hashlib.sha256()
    for part in parts:
        _update(hasher, part)
    return hasher.hexdigest()[:_DIGEST_CHARS]


def text_digest(products: pd.DataFrame, columns: Iterable[str] = ("title", "description")) -> str:
    """Digest of the text a model reads, row by row, in table order (row ids included).

    Args:
        products: Rows with ``row_id`` and the text ``columns``.
        columns: The text columns that reach the model.

    Returns:
        32 hex digits; changes when one character of one row changes.
    """
    hasher = hashlib.sha256()
    _update(hasher, products["row_id"].to_numpy(np.int64))
    for column in columns:
        for value in products[column].fillna("").astype(str):
            encoded = value.encode("utf-8")
            hasher.update(len(encoded).to_bytes(8, "little"))
            hasher.update(encoded)
    return hasher.hexdigest()[:_DIGEST_CHARS]


def labels_digest(row_ids: Any, labels: Any) -> str:
    """Digest of which rows carry which label (order included)."""
    return digest(np.asarray(row_ids, dtype=np.int64), np.asarray(labels, dtype=np.int64))


def data_fingerprint(products: pd.DataFrame, image_cache: Any) -> str:
    """One digest of the labelled data a run learns from: every product's text, label and split,
    and the content digests of its cached photos (at every cached size).

    Args:
        products: The ``products`` table (``row_id``, text, ``label``, ``split``).
        image_cache: Its built ``ImageCache`` (``row_ids``, ``sizes``, ``pixel_digests``).

    Returns:
        32 hex digits; two runs with the same value learned from the same data.
    """
    return digest(
        text_digest(products),
        labels_digest(products["row_id"], products["label"]),
        products["split"].astype(str).tolist(),
        np.asarray(image_cache.row_ids, dtype=np.int64),
        *(image_cache.pixel_digests(size) for size in image_cache.sizes),
    )


@dataclass(frozen=True)
class Fingerprint:
    """Named digests of everything a reusable result depends on.

    Attributes:
        parts: Part name (shown in messages, e.g. ``"training text"``) → its digest.
    """

    parts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, **parts: Any) -> Fingerprint:
        """Build from named parts; each value is digested (strings already digests too).

        Keyword names use ``_`` for spaces: ``training_text=…`` becomes ``"training text"``.
        """
        return cls({name.replace("_", " "): digest(value) for name, value in parts.items()})

    @property
    def value(self) -> str:
        """One digest of all parts (and of the fingerprint version)."""
        return digest(FINGERPRINT_VERSION, self.parts)

    def as_dict(self) -> dict[str, Any]:
        """Plain values to store beside the result (JSON, or a ``weights_only`` checkpoint)."""
        return {"version": FINGERPRINT_VERSION, "value": self.value, "parts": dict(self.parts)}

    def matches(self, stored: Mapping[str, Any] | None) -> bool:
        """Whether ``stored`` (an :meth:`as_dict`) was made from the same settings and data."""
        return isinstance(stored, Mapping) and stored.get("value") == self.value

    def changes_since(self, stored: Mapping[str, Any] | None) -> str:
        """What differs from ``stored``, in words, e.g. ``"training text changed"``.

        Args:
            stored: An earlier :meth:`as_dict` (or ``None``/anything else: unknown).

        Returns:
            A short phrase for a log line; ``"nothing changed"`` when it matches.
        """
        if self.matches(stored):
            return "nothing changed"
        if not isinstance(stored, Mapping) or stored.get("version") != FINGERPRINT_VERSION:
            return "it was made by an older version of rakuten_kedro"
        old = stored.get("parts") or {}
        changed = [name for name, value in self.parts.items() if old.get(name) != value]
        changed += [name for name in old if name not in self.parts]
        if not changed:
            return "its fingerprint differs"
        return " and ".join(changed) + " changed"


def model_digest(model: Any) -> str:
    """Digest of what a trained model learned, to tell which models made a result.

    Args:
        model: A torch module (its state dict) or a fitted estimator such as a scikit-learn
            pipeline (its attributes, walked down to arrays and plain values).

    Returns:
        32 hex digits; changes when one weight changes.
    """
    return digest(*_learned_parts(model))


def _learned_parts(value: Any) -> Iterator[Any]:
    import torch  # noqa: PLC0415  (keep this module light for the callers without models)

    if isinstance(value, torch.nn.Module):
        state = value.state_dict()
        yield list(state)
        yield from (tensor.detach().cpu().float().numpy() for tensor in state.values())
    elif isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str):
            yield str(key)
            yield from _learned_parts(value[key])
    elif isinstance(value, list | tuple):
        yield len(value)
        for item in value:
            yield from _learned_parts(item)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        yield type(value).__qualname__
        yield from _learned_parts(vars(value))
    else:
        yield value  # numbers, strings, sets, types: JSON in digest()
