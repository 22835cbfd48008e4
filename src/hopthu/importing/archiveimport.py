"""One archive imported into one mailbox (R13.7), for the CLI and the webmail alike.

The file is read twice, both times in a worker thread (`asyncio.to_thread`), a batch of messages per
trip, so the event loop of the process carrying the city's mail is never held by a disk or an unzip:
first to count what it holds and check it fits the quota (`MailboxSink.room`) before a single message
is stored, then to store each message through the sink, the store's one delivery path. A quota
reached all the same half-way (other mail arrived meanwhile) stops the import with that said; what
was stored stays. Every message left out is counted per folder with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hopthu.errors import HopThuError
from hopthu.importing.archives import read_archive
from hopthu.importing.items import REASONS, Bounds, Found, Item, Skip, stored_size
from hopthu.importing.sink import Imported, Incoming, MailboxSink, OverQuota, our_name
from hopthu.policy.quota import format_size
from hopthu.store.folders import SEPARATOR

log = logging.getLogger("hopthu.importing")

BATCH_MESSAGES = 200  # items read per trip to the worker thread
BATCH_BYTES = 8 * 1024 * 1024  # … or fewer, when they are large
EXAMPLES_MAX = 50  # entries named in the summary as examples of what was left out
_UNSAFE_IN_NAME = str.maketrans({"*": "-", "%": "-", SEPARATOR: "-"})


class NoRoom(HopThuError):
    """The archive does not fit in what is left of the mailbox's quota (R5.1)."""


@dataclass
class FolderTally:
    imported: int = 0
    bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class Survey:
    """What the archive holds, before anything is stored."""

    messages: int = 0
    bytes: int = 0  # as the store will count them


@dataclass
class Progress:
    done: int
    total: int
    bytes: int


@dataclass
class ImportResult:
    folders: dict[str, FolderTally] = field(default_factory=dict)
    examples: list[tuple[str, str]] = field(default_factory=list)  # (where, reason code)
    stopped: HopThuError | None = None  # the quota reached half-way

    @property
    def imported(self) -> int:
        return sum(t.imported for t in self.folders.values())

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.folders.values())

    @property
    def skipped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for tally in self.folders.values():
            total.update(tally.skipped)
        return total

    def tally(self, folder: str) -> FolderTally:
        return self.folders.setdefault(folder, FolderTally())

    def skip(self, folder: str, reason: str, where: str) -> None:
        self.tally(folder).skipped[reason] += 1
        if len(self.examples) < EXAMPLES_MAX:
            self.examples.append((where, reason))

    def as_json(self) -> dict[str, Any]:
        """The summary kept for the webmail's page (JSON: reason codes, not words)."""
        return {
            "folders": {
                name: {"imported": t.imported, "bytes": t.bytes, "skipped": dict(t.skipped)}
                for name, t in self.folders.items()
            },
            "examples": [list(pair) for pair in self.examples],
            "stopped": [self.stopped.vi, self.stopped.en] if self.stopped else None,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ImportResult:
        result = cls()
        for name, t in (value.get("folders") or {}).items():
            result.folders[name] = FolderTally(t["imported"], t["bytes"], Counter(t["skipped"]))
        result.examples = [(where, reason) for where, reason in value.get("examples") or []]
        stopped = value.get("stopped")
        result.stopped = HopThuError(stopped[0], stopped[1]) if stopped else None
        return result


def reason_words(code: str) -> tuple[str, str]:
    return REASONS.get(code, (code, code))


def destination(found: Item, into: str | None) -> str:
    """Our folder for an item: `into` when everything goes to one folder, else the source's folder
    mapped to ours (`our_name`), Inbox for the archive's main folder."""
    if into is not None:
        return our_name(into, SEPARATOR)
    parts = [part.translate(_UNSAFE_IN_NAME) for part in found.folder]
    parts = ["".join(ch if ch.isprintable() else "-" for ch in part) for part in parts]
    return our_name(SEPARATOR.join(parts), SEPARATOR) if parts else "INBOX"


def _batches(items: Iterator[Item]) -> Callable[[], list[Item]]:
    """A function taking the next batch from `items` (empty at the end), for one trip to a thread."""

    def take() -> list[Item]:
        batch: list[Item] = []
        size = 0
        for item in items:
            batch.append(item)
            size += len(item.data) if isinstance(item, Found) else 0
            if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
                break
        return batch

    return take


async def _each(path: Path, bounds: Bounds, name: str) -> AsyncGenerator[Item, None]:
    """The archive's items, read in a worker thread a batch at a time."""
    items = read_archive(path, bounds, name=name)
    take = _batches(items)
    try:
        while batch := await asyncio.to_thread(take):
            for item in batch:
                yield item
    finally:
        await asyncio.to_thread(items.close)  # a zip or a file left open is closed off the loop


async def survey(path: Path, bounds: Bounds, *, name: str = "") -> Survey:
    """How many messages the archive holds and their size as stored, without storing any (counted
    in the worker thread, a batch per trip: no message's bytes come back to the event loop)."""
    items = read_archive(path, bounds, name=name)
    counted = Survey()

    def count() -> bool:
        """Count one batch into `counted`; False at the end."""
        start = counted.bytes
        for n, item in enumerate(items):
            if isinstance(item, Found):
                counted.messages += 1
                counted.bytes += stored_size(item.data)
            if n + 1 >= BATCH_MESSAGES or counted.bytes - start >= BATCH_BYTES:
                return True
        return False

    try:
        while await asyncio.to_thread(count):
            pass
    finally:
        await asyncio.to_thread(items.close)
    return counted


async def import_archive(
    sink: MailboxSink,
    path: Path,
    *,
    bounds: Bounds,
    name: str = "",
    into: str | None = None,
    progress: Callable[[Progress], Awaitable[None] | None] | None = None,
) -> ImportResult:
    """Import the archive at `path` into the sink's mailbox (see the module's docstring). Raises
    `NoRoom` when it cannot fit, `items.ArchiveRefused` when it is not mail; otherwise returns what
    was imported and left out, per folder."""
    if into is not None:
        into = our_name(into, SEPARATOR)  # a bad name is refused before anything is read
    counted = await survey(path, bounds, name=name)
    room = await sink.room()
    if counted.bytes > room:
        raise NoRoom(
            f"Tệp có {counted.messages} thư, {format_size(counted.bytes)}, nhưng hộp thư chỉ còn "
            f"{format_size(max(room, 0))}: hãy xóa bớt thư hoặc xin tăng dung lượng",
            f"The file holds {counted.messages} messages, {format_size(counted.bytes)}, but the mailbox "
            f"has only {format_size(max(room, 0))} left: delete some mail or ask for a larger quota",
            code="over_quota",
        )
    await _tell(progress, Progress(0, counted.messages, 0))
    result = ImportResult()
    done = 0
    batch: list[Found] = []  # messages of one folder, stored together (`MailboxSink.put_many`)
    batch_folder = ""
    batch_bytes = 0

    async def flush() -> bool:
        nonlocal done, batch_bytes
        if not batch:
            return True
        going_on = await _store(sink, batch_folder, batch, result)
        done += len(batch)
        batch.clear()
        batch_bytes = 0
        await _tell(progress, Progress(done, counted.messages, result.bytes))
        return going_on

    async with aclosing(_each(path, bounds, name)) as items:
        async for item in items:
            try:
                folder = destination(item, into)
            except HopThuError:
                result.skip("INBOX", "folder_name", item.where)
                continue
            if isinstance(item, Skip):
                result.skip(folder, item.reason, item.where)
                continue
            full = len(batch) >= BATCH_MESSAGES or batch_bytes >= BATCH_BYTES
            if batch and (folder != batch_folder or full) and not await flush():
                return result
            batch.append(item)
            batch_folder = folder
            batch_bytes += len(item.data)
        await flush()
    return result


async def _tell(progress: Callable[[Progress], Awaitable[None] | None] | None, now: Progress) -> None:
    if progress is not None:
        shown = progress(now)
        if shown is not None:
            await shown


async def _store(sink: MailboxSink, folder: str, items: list[Found], result: ImportResult) -> bool:
    """Store messages of one folder together: their bodies made durable and committed as one batch,
    not two fsyncs and a commit each. False when the import must stop (the quota is reached)."""
    try:
        await sink.ensure(folder)
        outcomes = await sink.put_many(
            folder, [Incoming(item.data, item.flags, item.internal_date) for item in items]
        )
    except HopThuError:
        for item in items:
            result.skip(folder, "refused", item.where)
        return True
    going_on = True
    for item, outcome in zip(items, outcomes, strict=True):
        if isinstance(outcome, Imported):
            tally = result.tally(folder)
            tally.imported += 1
            tally.bytes += outcome.size
        elif isinstance(outcome, OverQuota):
            result.stopped = NoRoom(
                "Hộp thư đã đầy giữa chừng; các thư còn lại chưa được nhập",
                "The mailbox became full part-way; the remaining messages were not imported",
                code="over_quota",
            )
            going_on = False
        elif isinstance(outcome, HopThuError):
            result.skip(folder, "refused", item.where)
        else:
            # One message the parser or the store could not take must not end the whole import: it
            # is logged with its place in the archive and counted, and the next message is tried.
            log.error("importing %s into %s failed: %r", item.where, folder, outcome)
            result.skip(folder, "unreadable", item.where)
    return going_on
