"""Argon2id password hashes, a short-lived cache of successful checks, and temporary passwords.

Phones and IMAP clients reconnect all day; one argon2id check costs ~100 ms of CPU. A successful
check is remembered for a few minutes under a keyed hash (HMAC with a per-process random key) of the
account id, the password and the stored hash, so the cache never holds a password, and any change of
the stored hash (password change, reset) makes old entries miss. `forget(account_id)` drops an
account's entries at once (lock, revoke).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hopthu.policy.passwords import normalize_password

# OWASP's argon2id recommendation (m=19 MiB, t=2, p=1) is the floor; we take 64 MiB, t=3, p=4,
# argon2-cffi's RFC 9106 low-memory profile.
_HASHER = PasswordHasher()

# A temporary password (R5.2) is 14 random characters, about 80 bits drawn by `secrets`: no dictionary
# or guessing order helps, so even a fast hash of it is out of reach of an offline search (2**80
# guesses), and argon2id's cost, which protects the chosen passwords people remember, would protect
# nothing more. It is also short-lived: it works only for the first sign-in, which must replace it
# (with a chosen password hashed at the full cost above), and it expires with the three months of
# R5.2 like any password. So it gets argon2id's lightest useful parameters (64 KiB, one pass: about
# 0.15 ms here, where 2 MiB took 1.5 ms and 20,000 accounts 30 s of hashing alone). It stays argon2id
# so that one verifier and one hash format serve every password. Spreading the full cost over a
# process pool was the other way: it would still cost 20,000 × 1.5 ms of the same two cores that
# serve mail, for no gain in safety.
_TEMPORARY_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)

_SPECIALS = "!@#$%^&*-_=+?"


def hash_password(password: str) -> str:
    return _HASHER.hash(normalize_password(password))


def hash_temporary(password: str) -> str:
    return _TEMPORARY_HASHER.hash(normalize_password(password))


def temporary_credentials(count: int) -> list[tuple[str, str]]:
    """`count` new temporary passwords with their hashes, (password, hash): blocking work, which the
    callers run in a thread before opening their transaction."""
    return [(password, hash_temporary(password)) for password in (temporary_password() for _ in range(count))]


def temporary_password(length: int = 14) -> str:
    """A random password that satisfies R5.3 (all four classes), readable when dictated."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "Il1O0o")
    while True:
        candidate = [secrets.choice(alphabet) for _ in range(length - 2)]
        candidate += [secrets.choice(_SPECIALS), secrets.choice("23456789")]
        secrets.SystemRandom().shuffle(candidate)
        password = "".join(candidate)
        if any(c.isupper() for c in password) and any(c.islower() for c in password):
            return password


class PasswordVerifier:
    """Checks passwords against stored argon2id hashes, remembering recent successes briefly."""

    def __init__(self, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[bytes, tuple[int, float]] = {}
        self._checking: dict[bytes, asyncio.Future[bool]] = {}

    def _cache_key(self, account_id: int, password: str, stored: str) -> bytes:
        message = b"\0".join((str(account_id).encode(), password.encode(), stored.encode()))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, account_id: int, password: str, stored: str) -> bool:
        key = self._cache_key(account_id, password, stored)
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return True
        try:
            _HASHER.verify(stored, normalize_password(password))
        except (VerificationError, InvalidHashError):
            return False
        if len(self._cache) > 100_000:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        self._cache[key] = (account_id, now + self._ttl)
        return True

    async def check(self, account_id: int, password: str, stored: str) -> bool:
        """`verify` off the event loop; a remembered success answers at once, and clients signing in
        with the same credentials at the same moment (a phone's parallel connections) share one
        argon2id computation instead of queueing one each."""
        key = self._cache_key(account_id, password, stored)
        hit = self._cache.get(key)
        if hit is not None and hit[1] > self._clock():
            return True
        running = self._checking.get(key)
        if running is None:
            running = asyncio.ensure_future(asyncio.to_thread(self.verify, account_id, password, stored))
            self._checking[key] = running
            running.add_done_callback(lambda _done: self._checking.pop(key, None))
        return await asyncio.shield(running)

    def forget(self, account_id: int) -> None:
        self._cache = {k: v for k, v in self._cache.items() if v[0] != account_id}
