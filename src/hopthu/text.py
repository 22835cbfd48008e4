"""Vietnamese text folding, shared by address naming (R4) and search.

Folding removes tones and vowel marks, turns `đ`/`Đ` into `d`, and lowercases, so that
`Nguyễn Văn Minh` and `nguyen van minh` meet. NFC and NFD input fold the same way.
"""

import unicodedata

_SPECIAL = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def fold(text: str) -> str:
    """Lowercase `text` and strip Vietnamese diacritics (and other combining marks)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


def words(text: str) -> list[str]:
    """Split a name or phrase on any run of white space (extra spaces are not words)."""
    return text.split()


_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


def ascii_text(text: str) -> str:
    """Vietnamese without diacritics but keeping capitals (fold() also lowercases), as ASCII: for
    protocol replies (SMTP, IMAP, POP3) that must stay 7-bit whatever the client."""
    folded = "".join(fold(ch).upper() if ch.isupper() else fold(ch) for ch in text.translate(_QUOTES))
    return folded.encode("ascii", "replace").decode()
