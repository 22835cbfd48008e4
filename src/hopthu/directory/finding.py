"""Finding people by name as they type it, without diacritics ("nguyen van minh" finds "Nguyễn Văn
Minh"), on both backends and with no database extension.

The database narrows with LIKE patterns in which every letter that may carry a mark matches any one
character; the rows it returns are then matched exactly on their folded words here.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from hopthu.text import fold

# A folded letter stands for itself or any letter folding to it: vowels (with their marks) and d (đ).
_ANY_MARK = str.maketrans({ch: "_" for ch in "aeiouyd"})


def query_words(query: str, most: int = 5) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(query))[:most]


def name_narrowing(column: sa.ColumnElement, words: list[str]) -> sa.ColumnElement[bool]:
    """A condition every name holding all `words` (in any marks) meets; some others meet it too."""
    return sa.and_(*(column.ilike(f"%{word.translate(_ANY_MARK)}%") for word in words))


def name_matches(name: str, words: list[str]) -> bool:
    """Whether every word starts one of the name's words, diacritics aside."""
    parts = fold(name).split()
    return all(any(part.startswith(word) for part in parts) for word in words)
