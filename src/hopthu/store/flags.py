"""RFC 9051 §2.3.2 system flags, kept as bits so unread counts and searches use an integer column.

User keywords ($Forwarded, $Junk, ... or anything a client invents) are kept beside them as one
space-separated text, in the order they were first set.
"""

from __future__ import annotations

SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16
# \Recent (RFC 3501 §2.3.2) belongs to one session, never to the stored message: a session sets this
# bit on the rows it shows so that they render with the flag; it is never written to the database.
RECENT = 32

SYSTEM_FLAGS: dict[str, int] = {
    "\\Seen": SEEN,
    "\\Answered": ANSWERED,
    "\\Flagged": FLAGGED,
    "\\Deleted": DELETED,
    "\\Draft": DRAFT,
}
_BY_UPPER = {name.upper(): bit for name, bit in SYSTEM_FLAGS.items()}


def split_flags(names: tuple[str, ...] | list[str]) -> tuple[int, tuple[str, ...]]:
    """System flag bits and the keywords (first spelling kept, no duplicates) of a flag list."""
    bits = 0
    keywords: list[str] = []
    seen: set[str] = set()
    for name in names:
        bit = _BY_UPPER.get(name.upper())
        if bit is not None:
            bits |= bit
        elif not name.startswith("\\") and name.upper() not in seen:
            seen.add(name.upper())
            keywords.append(name)
    return bits, tuple(keywords)


def keyword_list(text: str | None) -> list[str]:
    return text.split() if text else []


def keyword_text(keywords: list[str] | tuple[str, ...]) -> str | None:
    return " ".join(keywords) if keywords else None


def flag_names(bits: int, keywords: str | None) -> list[str]:
    """The flags of a message as IMAP names, system flags first."""
    names = [name for name, bit in SYSTEM_FLAGS.items() if bits & bit]
    if bits & RECENT:
        names.append("\\Recent")
    names.extend(keyword_list(keywords))
    return names
