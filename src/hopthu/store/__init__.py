"""Persistence: the database (SQLite or PostgreSQL), the blob folder, the change bus.

On disk, a data folder holds `hopthu.db` (SQLite, WAL) unless `store.database_url` names PostgreSQL,
and `blobs/<h0h1>/<h2h3>/<sha256>.zst`, one zstd file per distinct message body. In the database the
directory tables (agency, account, alias, delegation, role_grant, request, audit_event) sit beside the
mail tables (mail_usage, mailbox, message, blob); see `schema`. `Store` bundles what a process opens:
the database, the blobs, the change bus, the messages (`mail`) and the mailboxes (`folders`).

Other rooms reach the mail tables through typed operations only: the outbound queue (`queue`), the
jobs' notices and runs (`notices`, `jobruns`), out-of-office replies (`vacation`), traffic counts
(`traffic`), whole mailboxes for purges and restores (`contents`), scratch databases (`tempdb`),
IMAP's `\\Recent` claims (`recent`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hopthu.config import Settings
from hopthu.store.blobs import BlobStore
from hopthu.store.db import Database
from hopthu.store.events import EventBus
from hopthu.store.folders import Folders
from hopthu.store.mailstore import Clock, MailStore, utcnow
from hopthu.store.migrate import upgrade
from hopthu.store.pgrelay import PgRelay
from hopthu.store.searching import UidLists


@dataclass
class Store:
    db: Database
    blobs: BlobStore
    events: EventBus
    mail: MailStore
    relay: PgRelay | None = None
    folders: Folders = field(init=False)  # an account's mailboxes as wholes (create, rename, ...)
    uid_lists: UidLists = field(default_factory=UidLists)  # recent `UID SEARCH ALL` answers

    def __post_init__(self) -> None:
        self.folders = Folders(self.db, self.events, self.mail.clock)

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Store:
        """Open (and bring up to date) the store a data folder's settings name."""
        db = Database(settings.database_url)
        if migrate:
            await upgrade(db)
        blobs = BlobStore(settings.blob_path, level=settings.store.zstd_level)
        events = EventBus()
        mail = MailStore(
            db, blobs, events, clock=clock, group_commit_seconds=settings.store.group_commit_ms / 1000
        )
        relay = None
        if db.backend == "postgresql":
            relay = PgRelay(events, settings.database_url)
            await relay.start()
        return cls(db, blobs, events, mail, relay)

    async def close(self) -> None:
        await self.mail.close()
        if self.relay is not None:
            await self.relay.close()
        await self.db.close()
