"""The access log (R13.4, R13.6): every sign-in and every refused one, on every protocol, and every
opening of an agency mailbox by a delegate, kept 12 months, so an operator can answer "who accessed
this mailbox, and when, from where, with what?".

Sign-ins are the hottest write there is (thousands a minute when a building's clients reconnect), so
an event costs no transaction of its own: it waits in a small buffer that the database's shared
writer takes every `FLUSH_SECONDS` (on SQLite inside the group commit of everything else being
written). The buffer is bounded: when `BUFFER_LIMIT` events wait it is written at once, and if the
database cannot keep up (a flood of failures while it is down) the oldest are dropped past
`BUFFER_MAX`, counted and logged, rather than memory growing without limit. Events of the last second
may be lost in a crash; none is lost at a normal stop (`close`).

"Is this a new place for this person?" is asked on every successful sign-in: answered from a
bounded memory of the pairs already seen, else by one indexed lookup
(`ix_access_event_account_id_source_client`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import access_event, account

log = logging.getLogger("hopthu.accesslog")

PROTOCOLS = ("imap", "pop3", "submission", "web", "api", "carddav")
SUCCESS = "success"
DELEGATE = "delegate"  # a delegate opened an agency mailbox (`mailbox_id`)
RESULTS = (
    SUCCESS,
    "bad_credentials",
    "throttled",
    "locked",
    "revoked",
    "deleted",
    "must_change_password",
    "app_password_on_web",  # an app password typed into the webmail's sign-in
    DELEGATE,
)
KEEP = dt.timedelta(days=365)  # R13.4: at least 12 months
FLUSH_SECONDS = 1.0
BUFFER_LIMIT = 2000  # events waiting that are written at once
BUFFER_MAX = 20_000  # events kept waiting at most while the database does not answer
DROPS_LOGGED = 10_000  # a warning each time this many more events were dropped
KNOWN_MAX = 100_000  # (account, source, client) pairs remembered as seen
DELEGATE_EVERY = dt.timedelta(hours=1)  # one record per delegate, mailbox, protocol and source
PURGE_BATCH = 5000
LOGIN_MAX, SOURCE_MAX, CLIENT_MAX = 320, 64, 200


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One event as the portal, the API and the person's settings page show it."""

    id: int
    at: dt.datetime
    account_id: int | None
    login: str
    protocol: str
    source: str
    client: str
    result: str
    mailbox_id: int | None
    address: str  # the account's local part ("" for a login naming no account)
    mailbox: str  # the agency mailbox a delegate opened ("" otherwise)


@dataclass(frozen=True, slots=True)
class AccessQuery:
    """What the operator searches by; empty fields do not narrow. `since`/`until` bound `at`."""

    account_id: int | None = None  # its own sign-ins, and its openings by delegates
    login: str = ""  # the login as typed, for one naming no account
    source: str = ""
    protocol: str = ""
    result: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        c = access_event.c
        found: list[sa.ColumnElement[bool]] = []
        named: list[sa.ColumnElement[bool]] = []
        if self.account_id is not None:
            named += [c.account_id == self.account_id, c.mailbox_id == self.account_id]
        if self.login.strip():
            named.append(c.login == self.login.strip().lower())
        if named:
            found.append(sa.or_(*named))
        if self.source.strip():
            found.append(c.source == self.source.strip())
        if self.protocol.strip():
            found.append(c.protocol == self.protocol.strip())
        if self.result.strip():
            found.append(c.result == self.result.strip())
        if self.since is not None:
            found.append(c.at >= self.since)
        if self.until is not None:
            found.append(c.at < self.until)
        return found


_person = account.alias("person")
_box = account.alias("box")
_COLUMNS = (
    access_event.c.id,
    access_event.c.at,
    access_event.c.account_id,
    access_event.c.login,
    access_event.c.protocol,
    access_event.c.source,
    access_event.c.client,
    access_event.c.result,
    access_event.c.mailbox_id,
    sa.func.coalesce(_person.c.local, ""),
    sa.func.coalesce(_box.c.local, ""),
)
_FROM = access_event.outerjoin(_person, _person.c.id == access_event.c.account_id).outerjoin(
    _box, _box.c.id == access_event.c.mailbox_id
)
# Two names for the account: the statement runs straight on the driver, where one name bound twice
# is not what every backend's positional parameters expect.
_SEEN = sa.select(
    sa.exists().where(
        access_event.c.account_id == sa.bindparam("account"),
        access_event.c.source == sa.bindparam("source"),
        access_event.c.client == sa.bindparam("client"),
        access_event.c.result == sa.bindparam("success"),
    ),
    sa.exists().where(
        access_event.c.account_id == sa.bindparam("account_again"),
        access_event.c.result == sa.bindparam("success_again"),
    ),
)


def _row(
    at: dt.datetime,
    account_id: int | None,
    login: str,
    protocol: str,
    source: str,
    client: str,
    result: str,
    mailbox_id: int | None = None,
) -> dict[str, Any]:
    return {
        "at": at,
        "account_id": account_id,
        "login": login.strip().lower()[:LOGIN_MAX],
        "protocol": protocol[:12],
        "source": source[:SOURCE_MAX],
        "client": client.strip()[:CLIENT_MAX],
        "result": result[:24],
        "mailbox_id": mailbox_id,
    }


class AccessLog:
    """The buffer of events waiting for the writer, the memory of known places, and the reading."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        self._buffer: list[dict[str, Any]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()
        self._known: OrderedDict[tuple[int, str, str], None] = OrderedDict()
        # Accounts that signed in during this process: their rows may still wait in the buffer, and
        # a second sign-in a moment after the first must not be taken for the first ever.
        self._signed_in: OrderedDict[int, None] = OrderedDict()
        self._delegates: OrderedDict[tuple[int, int, str, str], dt.datetime] = OrderedDict()
        self.dropped = 0

    # --- recording --------------------------------------------------------------------------------

    def record(
        self,
        *,
        account_id: int | None,
        login: str,
        protocol: str,
        source: str,
        client: str,
        result: str,
        mailbox_id: int | None = None,
    ) -> None:
        """Keep one event: written within `FLUSH_SECONDS`, at once when `BUFFER_LIMIT` wait."""
        self._buffer.append(
            _row(self.clock(), account_id, login, protocol, source, client, result, mailbox_id)
        )
        if len(self._buffer) > BUFFER_MAX:
            excess = len(self._buffer) - BUFFER_MAX
            del self._buffer[:excess]
            before, self.dropped = self.dropped, self.dropped + excess
            if before // DROPS_LOGGED != self.dropped // DROPS_LOGGED or before == 0:
                # once at the first drop, then each DROPS_LOGGED: a flood is not a log line per event
                log.warning("access log: %d events dropped, the database not keeping up", self.dropped)
        if self._flusher is None or self._flusher.done():
            delay = 0.0 if len(self._buffer) >= BUFFER_LIMIT else FLUSH_SECONDS
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon(delay))

    def delegate_opened(
        self, delegate_id: int, mailbox_id: int, *, protocol: str, source: str, client: str
    ) -> None:
        """A delegate opened an agency mailbox (R13.4): recorded once an hour per delegate, mailbox,
        protocol and source, not on every page or SELECT."""
        key = (delegate_id, mailbox_id, protocol, source)
        now = self.clock()
        last = self._delegates.get(key)
        if last is not None and now - last < DELEGATE_EVERY:
            return
        self._delegates[key] = now
        self._delegates.move_to_end(key)
        while len(self._delegates) > KNOWN_MAX:
            self._delegates.popitem(last=False)
        self.record(
            account_id=delegate_id,
            login="",
            protocol=protocol,
            source=source,
            client=client,
            result=DELEGATE,
            mailbox_id=mailbox_id,
        )

    async def _flush_soon(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.flush()
        except Exception:
            log.exception("access log events not written; trying again in %s s", FLUSH_SECONDS)
        if self._buffer:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon(FLUSH_SECONDS))

    async def flush(self) -> None:
        """Write every waiting event, through the shared writer (put back if that fails)."""
        async with self._flushing:
            rows, self._buffer = self._buffer, []
            if not rows:
                return
            try:
                await self.db.run_in_writer(lambda conn: conn.execute(sa.insert(access_event), rows))
            except BaseException:  # cancelled at the stop too: `close` writes them after
                self._buffer = (rows + self._buffer)[-BUFFER_MAX:]
                raise

    async def close(self) -> None:
        """Write what waits (the server's stop)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        try:
            await self.flush()
        except Exception:
            log.exception("%d access log events could not be written at stop", len(self._buffer))

    async def is_new_place(self, account_id: int, source: str, client: str) -> bool:
        """Whether a successful sign-in comes from a (source, client) never seen for this account
        although it signed in before: False for the first sign-in ever (nothing to compare with),
        and True once only per pair in this process."""
        key = (account_id, source[:SOURCE_MAX], client.strip()[:CLIENT_MAX])
        if key in self._known:
            self._known.move_to_end(key)
            return False
        self._known[key] = None
        while len(self._known) > KNOWN_MAX:
            self._known.popitem(last=False)
        signed_in_here = account_id in self._signed_in
        self._signed_in[account_id] = None
        self._signed_in.move_to_end(account_id)
        while len(self._signed_in) > KNOWN_MAX:
            self._signed_in.popitem(last=False)
        seen = await self.db.first(
            _SEEN,
            {
                "account": key[0],
                "source": key[1],
                "client": key[2],
                "success": SUCCESS,
                "account_again": key[0],
                "success_again": SUCCESS,
            },
        )
        known_pair, signed_in_before = bool(seen[0]), signed_in_here or bool(seen[1])
        return signed_in_before and not known_pair

    # --- reading ----------------------------------------------------------------------------------

    async def search(
        self, query: AccessQuery, *, before_id: int | None = None, limit: int = 100
    ) -> list[AccessEvent]:
        """Events matching `query`, newest first, `limit` of them older than `before_id`."""
        await self.flush()  # what happened a moment ago is part of the answer
        statement = sa.select(*_COLUMNS).select_from(_FROM).where(*query.conditions())
        if before_id is not None:
            statement = statement.where(access_event.c.id < before_id)
        rows = await self.db.all(statement.order_by(access_event.c.id.desc()).limit(limit))
        return [AccessEvent(*row) for row in rows]

    async def recent(self, account_id: int, *, limit: int = 20) -> list[AccessEvent]:
        """The account's own latest events (its settings page)."""
        await self.flush()
        statement = (
            sa.select(*_COLUMNS)
            .select_from(_FROM)
            .where(access_event.c.account_id == account_id)
            .order_by(access_event.c.at.desc(), access_event.c.id.desc())
            .limit(limit)
        )
        return [AccessEvent(*row) for row in await self.db.all(statement)]

    # --- purging ----------------------------------------------------------------------------------

    async def purge(self, before: dt.datetime, *, batch: int = PURGE_BATCH) -> int:
        """Delete the events older than `before`, `batch` per short transaction so sign-ins never
        wait long behind it; how many were deleted."""
        removed = 0
        while True:
            async with self.db.write() as conn:
                oldest = (
                    sa.select(access_event.c.id)
                    .where(access_event.c.at < before)
                    .order_by(access_event.c.at)
                    .limit(batch)
                    .scalar_subquery()
                )
                done = await conn.execute(sa.delete(access_event).where(access_event.c.id.in_(oldest)))
            removed += done.rowcount
            if done.rowcount < batch:
                return removed
            await asyncio.sleep(0)  # let the writers waiting behind this batch go first
