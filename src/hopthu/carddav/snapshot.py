"""The address book as CardDAV serves it: an immutable snapshot of the directory's listed entries,
rebuilt on the event loop when the directory's version moves.

`CityBook.current()` runs on the loop. It asks the directory's version (one indexed read); the
snapshot of that version is kept and handed out again. When the version moved, and the snapshot is
at least `SETTLE_SECONDS` old, a new one is read a batch at a time in the database driver's thread
(`directory.book.everyone_after`); requests meanwhile wait for that one build rather than each
starting their own. Even at an unchanged version the snapshot is rebuilt after `REFRESH_SECONDS`: on
PostgreSQL a transaction that took a lower audit id can commit after a higher one was seen.

A snapshot's vCards are written on first use, in the WSGI thread that needs them, once (a lock),
and its collection tag (the CalendarServer ctag, and the sync token) is a digest of every card's
href and entity tag: it changes exactly when a card a client would download changed, whatever moved
the version (a failed sign-in pause is audited too, and changes no card).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hopthu.carddav.vcard import card, etag_of, uid_of
from hopthu.directory import book
from hopthu.directory.book import Entry
from hopthu.store.db import Database

SETTLE_SECONDS = 30.0  # a new version waits this long after the last build (bulk registrations)
REFRESH_SECONDS = 600.0  # a snapshot is read again after this long whatever the version says


@dataclass(frozen=True, slots=True)
class Card:
    href: str  # the card's name in the address book: "<uid>.vcf"
    uid: str
    text: str
    etag: str
    revised_at: dt.datetime


class Snapshot:
    """The listed entries at one version of the directory; its cards are made once, on demand."""

    def __init__(self, version: int, entries: tuple[Entry, ...], domain: str, built: float) -> None:
        self.version = version
        self.entries = entries
        self.domain = domain
        self.built = built
        self._cards: dict[str, Card] | None = None
        self._tag = ""
        self._lock = threading.Lock()

    def cards(self) -> Mapping[str, Card]:
        """Every card by its href, in the directory's id order."""
        if self._cards is None:
            with self._lock:
                if self._cards is None:
                    made: dict[str, Card] = {}
                    digest = hashlib.sha256()
                    for entry in self.entries:
                        uid = uid_of(self.domain, entry.id)
                        text = card(entry, self.domain)
                        found = Card(f"{uid}.vcf", uid, text, etag_of(text), entry.revised_at)
                        made[found.href] = found
                        digest.update(f"{found.href}/{found.etag}\n".encode())
                    self._tag = digest.hexdigest()[:40]
                    self._cards = made
        return self._cards

    @property
    def tag(self) -> str:
        """A digest of every card's href and entity tag (unquoted)."""
        self.cards()
        return self._tag

    @property
    def revised_at(self) -> dt.datetime:
        """The latest change any card dates (the epoch for an empty book)."""
        cards = self.cards().values()
        return max((found.revised_at for found in cards), default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))


class CityBook:
    """The current snapshot, for the front to hand to each CardDAV request (on the event loop)."""

    def __init__(self, db: Database, domain: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.domain = domain
        self.clock = clock
        self._snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> Snapshot:
        version = await book.version(self.db)
        kept = self._snapshot
        if kept is not None and self._fresh(kept, version):
            return kept
        async with self._lock:
            version = await book.version(self.db)  # read before the entries: a later change is seen next time
            kept = self._snapshot
            if kept is not None and self._fresh(kept, version):
                return kept  # built by the request this one waited for
            self._snapshot = await self._build(version)
            return self._snapshot

    def _fresh(self, kept: Snapshot, version: int) -> bool:
        age = self.clock() - kept.built
        if age >= REFRESH_SECONDS:
            return False
        return kept.version == version or age < SETTLE_SECONDS

    async def _build(self, version: int) -> Snapshot:
        started = self.clock()
        entries: list[Entry] = []
        after = 0
        while True:
            batch = await book.everyone_after(self.db, after)
            entries += batch
            if len(batch) < book.EXPORT_BATCH:
                break
            after = batch[-1].id
        return Snapshot(version, tuple(entries), self.domain, started)
