"""App passwords as secrets: made by the server, shown once, kept only as a keyed hash.

An app password is 16 lowercase letters drawn by `secrets` from 24 (no `l`, no `o`, which read as
`1` and `0`), shown in four groups of four (`abcd efgh ijkm npqr`) to be typed on a phone: about 73
bits. People never choose it, so no dictionary helps a guesser, and argon2id's cost, which protects
the passwords people remember, would protect nothing more; it would only cost ~100 ms of CPU per
sign-in for each app password a person holds (a login names the account, not which of its up to 20
app passwords is typed, so checking them by argon2id means trying each hash in turn).

So it is kept as HMAC-SHA256 under a key derived from the data folder's secret key
(`security.secretbox`, shared by every node and kept in backups), of the account's id and the
letters: a sign-in computes one HMAC and finds the row by one indexed lookup, whatever the number of
app passwords, and a copy of the database alone (without the key file) cannot even test a guess
offline. The account id inside the hash keeps the same letters of two people apart.

What a client sends is read forgivingly: spaces and hyphens (the groups as shown) and capitals
(a phone's keyboard capitalising the first letter) are dropped before hashing. Such a shape can
never be a valid main password (R5.3 asks for a digit and a special character), so a sign-in tries
the app passwords only for passwords of this shape and the main password otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

ALPHABET: Final = "abcdefghijkmnpqrstuvwxyz"
LENGTH: Final = 16
GROUP: Final = 4
_CONTEXT: Final = b"hopthu app password v1"
_MAX_TYPED: Final = 64  # longer typed text is no app password, and is not scanned further


def generate() -> str:
    """A new app password, as stored and compared: 16 letters without separators."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(secret: str) -> str:
    """The letters in groups of four, as the page shows them once."""
    return " ".join(secret[i : i + GROUP] for i in range(0, len(secret), GROUP))


def candidate(typed: str) -> str | None:
    """The app password `typed` may be (separators and capitals dropped), or None when it cannot be
    one, which then is checked as the main password."""
    if len(typed) > _MAX_TYPED:
        return None
    letters = "".join(c for c in typed if c not in " -").lower()
    if len(letters) != LENGTH or any(c not in ALPHABET for c in letters):
        return None
    return letters


class Digester:
    """The keyed hash of app passwords under the data folder's key."""

    def __init__(self, folder_key: bytes) -> None:
        self._key = hmac.new(folder_key, _CONTEXT, hashlib.sha256).digest()

    def digest(self, account_id: int, secret: str) -> str:
        message = f"{account_id}\0{secret}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
