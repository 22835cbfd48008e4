"""The golden MIME corpus beside the checkout (`../shared/corpus/mime`), read in place, never copied.

A clone without `../shared` skips the golden tests with a reason instead of failing them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from hopthu.mail import ParsedMessage, canonical, parse

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mime"
SUFFIX = ".dovecot.json"


def names() -> list[Any]:
    """One pytest parameter per message with a golden answer (a single skipped one without)."""
    if not CORPUS.is_dir():
        reason = f"golden corpus not found at {CORPUS} (it lives in ../shared beside the checkout)"
        return [pytest.param("corpus-missing", marks=pytest.mark.skip(reason=reason))]
    return sorted(p.name[: -len(SUFFIX)] for p in CORPUS.glob("*" + SUFFIX))


@functools.cache
def load(name: str) -> tuple[dict[str, Any], bytes, ParsedMessage]:
    """(Dovecot's answers, our canonical bytes, our parse) for one corpus message."""
    golden = json.loads((CORPUS / (name + SUFFIX)).read_text())
    data = canonical((CORPUS / (name + ".eml")).read_bytes())
    return golden, data, parse(data)


def wire(value: bytes) -> str:
    """IMAP bytes the way the corpus records them: UTF-8, other octets as \\xNN."""
    return value.decode("utf-8", "backslashreplace")
