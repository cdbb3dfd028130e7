"""Text cleaning of titles and descriptions (docs/method.md §1): entities, tags and white space."""

from __future__ import annotations

import html
import math
import re

import pandas as pd

# A tag is "<" + a name or "/" or "!" + up to a few hundred non-bracket characters + ">".
# Bounded so a stray "<" in "taille < 3 ans" never swallows the rest of the text.
_TAG = re.compile(r"<\s*[/!a-zA-Z][^<>]{0,300}>")
_UNCLOSED_TAG_AT_END = re.compile(r"<\s*[/!a-zA-Z][^<>]{0,300}$")
_WHITE_SPACE = re.compile(r"\s+")


def clean_text(text: object) -> str:
    """Unescape HTML entities, strip tags and collapse white space; ``None``/NaN give ``""``.

    Entities are unescaped twice because scraped descriptions are often double-escaped
    (``&amp;eacute;``), and tags are stripped after the first pass so escaped markup
    (``&lt;br /&gt;``) goes too.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    cleaned = html.unescape(str(text))
    cleaned = _TAG.sub(" ", cleaned)
    cleaned = _UNCLOSED_TAG_AT_END.sub(" ", cleaned)
    cleaned = html.unescape(cleaned).replace("\xa0", " ")
    return _WHITE_SPACE.sub(" ", cleaned).strip()


def clean_text_column(texts: pd.Series) -> pd.Series:
    """``clean_text`` over a column, keeping its index."""
    return pd.Series([clean_text(t) for t in texts], index=texts.index, dtype=object)
