"""One zip of everything held about a person, for a request under R13.6: their mail (every folder,
one .eml file per message, under `thu/`), their directory record (`ho-so.json`), the audit entries
in which they act or are acted on (`nhat-ky-quan-tri.csv`) and the access log's entries of their
sign-ins and of their delegates' openings of their mailbox (`nhat-ky-truy-cap.csv`).

The archive is a list of sections (`SECTIONS`); each yields its entries, so a further record is one
more function in that list. The zip is streamed as it is written: the
command line writes it to a file, the portal sends it; a mailbox of any size costs the memory of
one message, and the audit of one batch of rows.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, cast

from hopthu.directory.accesslog import AccessEvent, AccessQuery
from hopthu.directory.accounts import Account
from hopthu.directory.personaldata import AUDIT_COLUMNS
from hopthu.directory.service import Directory
from hopthu.policy.dates import VIETNAM
from hopthu.store import Store, webmail
from hopthu.web.accessnames import access_csv
from hopthu.web.exports import EntryNames, ZipSink, csv_row, safe_part

MAIL_FOLDER = "thu"
RECORD_FILE = "ho-so.json"
AUDIT_FILE = "nhat-ky-quan-tri.csv"
ACCESS_FILE = "nhat-ky-truy-cap.csv"
ACCESS_PAGE = 5000  # events read at a time
_ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=VIETNAM)  # a zip entry's time cannot be earlier


@dataclass
class Source:
    """What the sections read: the person, the store and directory, the moment, and where to count
    progress (one step a message)."""

    account: Account
    store: Store
    directory: Directory
    now: dt.datetime
    progress: Callable[[int], None] = lambda _n: None
    names: EntryNames = field(default_factory=EntryNames)


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # a unique, safe name from `Source.names`
    when: dt.datetime
    data: bytes


Section = Callable[[Source], AsyncIterator[Entry]]


def _stamp(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    local = max(moment.astimezone(VIETNAM), _ZIP_EPOCH)
    return local.timetuple()[:6]


async def mail(source: Source) -> AsyncIterator[Entry]:
    """Every folder, each message an .eml file as IMAP serves it."""
    store = source.store
    for box in await store.mail.mailboxes(source.account.id):
        place = source.names.folder(f"{MAIL_FOLDER}/{box.name}")
        number = 0
        async for row, data in webmail.with_bodies(store.db, store.blobs, box.id):
            number += 1
            envelope = row.envelope or {}
            subject = envelope.get("subject_text") or envelope.get("subject") or ""
            name = f"{number:05d} {safe_part(subject)}".rstrip() + ".eml"
            yield Entry(source.names.entry(place, name), row.internal_date, data)
            source.progress(1)


async def record(source: Source) -> AsyncIterator[Entry]:
    """The directory's record of the person (`directory.personaldata.PersonalData.record`)."""
    found = await source.directory.personal_data.record(source.account)
    found["exported_at"] = source.now.isoformat()
    data = json.dumps(found, ensure_ascii=False, indent=2, default=str).encode()
    yield Entry(source.names.entry("", RECORD_FILE), source.now, data)


async def audit(source: Source) -> AsyncIterator[Entry]:
    """The audit entries about or by the person, as CSV with a header row (cells made inert)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(AUDIT_COLUMNS)
    async for rows in source.directory.personal_data.audit_entries(source.account):
        for row in rows:
            cells = [
                value.isoformat()
                if isinstance(value, dt.datetime)
                else json.dumps(value, ensure_ascii=False)
                if isinstance(value, dict)
                else ""
                if value is None
                else value
                for value in row
            ]
            writer.writerow(csv_row(cells))
    data = ("\ufeff" + text.getvalue()).encode()  # the BOM: spreadsheets then read UTF-8
    yield Entry(source.names.entry("", AUDIT_FILE), source.now, data)


async def access(source: Source) -> AsyncIterator[Entry]:
    """The access log's entries naming the person (R13.4: kept 12 months), as the portal exports them."""
    log = source.directory.ctx.access_log
    query = AccessQuery(account_id=source.account.id)
    events: list[AccessEvent] = []
    before: int | None = None
    while page := await log.search(query, before_id=before, limit=ACCESS_PAGE):
        events += page
        before = page[-1].id
    data = access_csv(events, source.directory.ctx.settings.server.domain).encode()
    yield Entry(source.names.entry("", ACCESS_FILE), source.now, data)


SECTIONS: Sequence[Section] = (mail, record, audit, access)


async def stream(source: Source, sections: Sequence[Section] = SECTIONS) -> AsyncIterator[bytes]:
    """The archive's bytes, as they are written."""
    sink = ZipSink()
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in sections:
            async for entry in section(source):
                info = zipfile.ZipInfo(entry.name, _stamp(entry.when))
                info.compress_type = zipfile.ZIP_DEFLATED
                await asyncio.to_thread(archive.writestr, info, entry.data)
                yield sink.take()
    yield sink.take()  # the central directory, written on closing


async def write(source: Source, write_chunk: Callable[[bytes], object]) -> int:
    """The archive handed to `write_chunk` (a file's `write`, say) piece by piece; its size."""
    size = 0
    async for chunk in stream(source):
        if chunk:
            write_chunk(chunk)
            size += len(chunk)
    return size
