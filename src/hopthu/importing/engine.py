"""Bringing one old mailbox over (R13.7): every folder, its hierarchy, flags, keywords and dates.

A pass over one mailbox:

1. Sign in to the former server (a refused login stops this mailbox only: `refused`; an
   unreachable server marks it `interrupted`, and a rerun resumes it).
2. Survey: EXAMINE each folder and list its messages' UIDs and sizes. A folder whose UIDVALIDITY
   changed since its checkpoint is said so in the report and imported again from the start, the
   messages already in our folder recognised by their body's digest, so nothing is doubled.
3. Quota (R5.1): the bytes still to bring are compared with the room left in our mailbox before
   anything is stored; a mailbox that would not fit is reported (`over_quota`), not started.
4. For each folder, batches of messages in UID order are fetched (several in flight) and stored
   through `MailboxSink` (the store's one delivery path). After each batch is committed the folder's
   checkpoint (`store.imports`) records the highest source UID done and our folder's UIDNEXT. After
   a crash, the messages of the batch in flight are those of our folder at or above that mark:
   their digests are compared with what the server sends again, and a match is counted, not stored.
5. A message that cannot be read on the source, is over the literal limit, or that the store refuses
   is recorded as skipped with its reason; nothing in one message stops the mailbox.

A pause (`stop` set) is cooperative: the batch being stored is finished and checkpointed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hopthu.errors import HopThuError
from hopthu.importing.imapsource import (
    LITERAL_LIMIT,
    FolderState,
    FolderUnavailable,
    ImapSource,
    SourceError,
    SourceFolder,
    SourceMessage,
    SourceRefused,
    SourceUnreachable,
)
from hopthu.importing.imapwire import Oversized
from hopthu.importing.plan import PlanLine
from hopthu.importing.sink import Imported, Incoming, MailboxSink, OverQuota, Prepared, our_name
from hopthu.store import Store
from hopthu.store.imports import FolderRow, ImportLedger, MailboxRow, SkipRow

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    batch_messages: int = 100
    batch_bytes: int = 8 * 1024 * 1024
    ahead: int = 2  # FETCH commands in flight on one connection
    literal_limit: int = LITERAL_LIMIT
    timeout: float = 60.0


@dataclass(slots=True)
class _Stage:
    """A fetched batch, prepared: the results known already (skipped, or recognised as stored by
    a batch cut short), the messages to deliver (index in the batch, message), and their kept
    bodies."""

    folder: str
    uids: list[int]
    results: list[int | SkipRow | OverQuota | None]
    storing: list[tuple[int, SourceMessage]]
    prepared: Prepared


@dataclass(slots=True)
class MailboxProgress:
    """What one mailbox has done so far in this process (read by progress bars and the portal)."""

    line: int
    old_address: str
    new_address: str
    status: str = "pending"
    folder: str = ""
    messages_total: int = 0  # to bring in this pass
    bytes_total: int = 0
    messages_done: int = 0
    bytes_done: int = 0
    skipped: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Planned:
    folder: SourceFolder
    state: FolderState
    target: str
    restart: bool
    checkpoint: FolderRow | None
    wanted: list[tuple[int, int]]  # (uid, size) above the checkpoint
    source_messages: int
    source_bytes: int


class MailboxImport:
    """One plan line carried out against one account."""

    def __init__(
        self,
        store: Store,
        ledger: ImportLedger,
        line: PlanLine,
        row: MailboxRow,
        account_id: int,
        progress: MailboxProgress,
        stop: asyncio.Event,
        *,
        options: ImportOptions,
        clock: Clock,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.line = line
        self.row = row
        self.account_id = account_id
        self.progress = progress
        self.stop = stop
        self.options = options
        self.clock = clock
        self.sink = MailboxSink(store, account_id)
        self._marks: dict[int, int] = {}  # folder checkpoint id → its target mark as last written

    async def run(self) -> str:
        """Carry the mailbox over; its final status (also written to its row)."""
        progress = self.progress
        progress.status = "running"
        await self.ledger.set_mailbox(
            self.row.id, status="running", account_id=self.account_id, error=None, started_at=self.clock()
        )
        status, error = "done", None
        try:
            source = await ImapSource.connect(
                self.line.endpoint,
                self.line.credentials,
                timeout=self.options.timeout,
                literal_limit=self.options.literal_limit,
            )
            try:
                status = await self._carry(source)
            finally:
                await source.close()
        except SourceRefused as refused:
            status, error = "refused", str(refused)
        except SourceUnreachable as gone:
            status, error = "interrupted", str(gone)
        except OverQuota as full:
            status, error = "over_quota", str(full)
        except SourceError as wrong:
            status, error = "failed", str(wrong)
        except HopThuError as refused_here:
            status, error = "failed", str(refused_here)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("import of %s failed (incident %s)", self.line.source, incident)
            status = "failed"
            error = f"Lỗi nội bộ (mã {incident}) / Internal error (id {incident})"
        if error is not None and progress.error is None:
            progress.error = error
        progress.status = status
        await self.ledger.set_mailbox(
            self.row.id, status=status, error=progress.error, finished_at=self.clock()
        )
        return status

    async def _carry(self, source: ImapSource) -> str:
        planned = await self._survey(source)
        needed = sum(size for each in planned for _, size in each.wanted)
        self.progress.messages_total = sum(len(each.wanted) for each in planned)
        self.progress.bytes_total = needed
        await self.ledger.set_mailbox(
            self.row.id,
            source_messages=sum(each.source_messages for each in planned),
            source_bytes=sum(each.source_bytes for each in planned),
        )
        room = await self.sink.room()
        if needed > room:
            self.progress.error = (
                f"Hộp thư {self.line.new_address} không đủ dung lượng: cần {_mb(needed)}, còn {_mb(room)}"
                f" / The mailbox {self.line.new_address} has no room: {_mb(needed)} needed, {_mb(room)} left"
            )
            return "over_quota"
        for each in planned:
            if not await self._folder(source, each):
                return "paused"
        return "done"

    async def _survey(self, source: ImapSource) -> list[_Planned]:
        checkpoints = {
            row.source_name: row for row in await self.ledger.folders(self.account_id, self.line.source)
        }
        planned: list[_Planned] = []
        folders = sorted(
            (f for f in await source.folders() if f.selectable),
            key=lambda f: (f.name.upper() != "INBOX", f.name),
        )
        for folder in folders:
            try:
                state = await source.examine(folder)
            except FolderUnavailable as closed:
                await self._skip_now(SkipRow(folder.name, 0, 0, "folder", str(closed)))
                continue
            try:
                target = our_name(folder.name, folder.delimiter, folder.attributes)
            except HopThuError as bad:
                await self._skip_now(SkipRow(folder.name, 0, 0, "folder_name", str(bad)))
                continue
            checkpoint = checkpoints.get(folder.name)
            restart = checkpoint is not None and checkpoint.uidvalidity != state.uidvalidity
            if restart:
                self.progress.notes.append(_uidvalidity_note(folder.name))
            above = checkpoint.last_uid if checkpoint is not None and not restart else 0
            every = await source.sizes(0) if state.exists else []
            wanted = [(uid, size) for uid, size in every if uid > above]
            planned.append(
                _Planned(
                    folder,
                    state,
                    target,
                    restart,
                    checkpoint,
                    wanted,
                    len(every),
                    sum(size for _, size in every),
                )
            )
        return planned

    async def _folder(self, source: ImapSource, plan: _Planned) -> bool:
        """Import one folder's new messages; False when stopped by a pause."""
        progress = self.progress
        progress.folder = plan.folder.name
        # The survey left another folder open: this one is opened again before its UIDs mean anything.
        state = await source.examine(plan.folder)
        if state.uidvalidity != plan.state.uidvalidity:  # changed since the survey: all of it again
            plan.state, plan.restart = state, True
            plan.wanted = await source.sizes(0)
            progress.notes.append(_uidvalidity_note(plan.folder.name))
        target = await self.sink.ensure(plan.target)
        ours = await self.store.mail.mailbox(self.account_id, target)
        if ours is None:
            raise HopThuError(f"Không có thư mục {target}", f"No mailbox {target}")
        row = await self.ledger.begin_folder(
            self.account_id,
            self.line.source,
            plan.folder.name,
            target_name=target,
            uidvalidity=plan.state.uidvalidity,
            target_mark=ours.uidnext,
            source_messages=plan.source_messages,
            source_bytes=plan.source_bytes,
            restart=plan.restart,
            at=self.clock(),
        )
        # What a batch cut short may have stored already (or, after a UIDVALIDITY change, the whole
        # folder): counted when the server sends it again, never stored twice.
        already = (
            Counter(await self.ledger.digests_from(ours.id, row.target_mark))
            if row.target_mark < ours.uidnext
            else Counter()
        )
        fetchable: list[tuple[int, int]] = []
        early: list[SkipRow] = []
        for uid, size in plan.wanted:
            if size > self.options.literal_limit:
                early.append(
                    SkipRow(
                        plan.folder.name, uid, size, "too_large", _too_large(size, self.options.literal_limit)
                    )
                )
            else:
                fetchable.append((uid, size))
        progress.skipped += len(early)
        progress.messages_done += len(early)
        batches = _batches(fetchable, self.options.batch_messages, self.options.batch_bytes)
        sizes = dict(fetchable)
        last_uid = row.last_uid
        fetched = source.fetch(batches, ahead=self.options.ahead)
        # One batch is prepared (parsed, its bodies made durable) while the one before it commits;
        # commits and checkpoints stay in the source's order.
        preparing: asyncio.Task[_Stage] | None = None
        try:
            async with contextlib.aclosing(fetched):
                async for uids, found, refused in read_ahead(fetched, self.options.ahead):
                    following = asyncio.create_task(
                        self._prepare(plan.folder.name, uids, found, refused, already, after=preparing)
                    )
                    if preparing is not None:
                        stage, preparing = await preparing, following
                        if not await self._batch(target, plan, row, stage, already, early, sizes):
                            return False
                        early = []
                        last_uid = max(last_uid, stage.uids[-1])
                    preparing = following
                if preparing is not None:
                    stage, preparing = await preparing, None
                    if not await self._batch(target, plan, row, stage, already, early, sizes):
                        return False
                    early = []
                    last_uid = max(last_uid, stage.uids[-1])
        finally:
            if preparing is not None:
                preparing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await preparing
        return await self._finish(target, plan, row, last_uid, early)

    async def _prepare(
        self,
        folder: str,
        uids: list[int],
        found: list[SourceMessage],
        refused: str | None,
        already: Counter[str],
        *,
        after: asyncio.Task[_Stage] | None,
    ) -> _Stage:
        """The part of storing a batch that needs no commit: what cannot be stored is set aside,
        what a batch cut short stored already is recognised by digest (after the batch before,
        so in the source's order), the rest parsed and kept (`MailboxSink.prepare`)."""
        if after is not None:
            with contextlib.suppress(Exception):  # its own failure is raised where it is awaited
                await asyncio.shield(after)
        wanted = set(uids)
        by_uid = {message.uid: message for message in found if message.uid in wanted}
        results: list[int | SkipRow | OverQuota | None] = [None] * len(uids)
        storing: list[tuple[int, SourceMessage, bytes]] = []
        for index, uid in enumerate(uids):
            message = by_uid.get(uid)
            unfit = self._unfit(folder, uid, message, refused)
            if unfit is not None:
                results[index] = unfit
                continue
            assert message is not None and isinstance(message.body, bytes)
            body = message.body
            if already:
                digest = await self.sink.digest(body)
                if already[digest] > 0:
                    already[digest] -= 1
                    results[index] = len(body)
                    continue
            storing.append((index, message, body))
        prepared = await self.sink.prepare(
            [Incoming(body, message.flags, message.internal_date) for _, message, body in storing]
        )
        return _Stage(folder, uids, results, [(index, message) for index, message, _ in storing], prepared)

    async def _commit(self, target: str, stage: _Stage) -> list[int | SkipRow | OverQuota]:
        """Deliver a prepared batch: each message's stored size, or why it was skipped."""
        results = stage.results
        folder = stage.folder
        outcomes = await self.sink.commit(target, stage.prepared)
        for (index, message), outcome in zip(stage.storing, outcomes, strict=True):
            if isinstance(outcome, Imported):
                results[index] = outcome.size
            elif isinstance(outcome, OverQuota):
                results[index] = outcome
            elif isinstance(outcome, HopThuError):
                results[index] = SkipRow(folder, message.uid, message.size, "refused", str(outcome))
            else:
                incident = secrets.token_hex(4)
                log.error(
                    "message %s/%d of %s not stored (incident %s): %r",
                    folder,
                    message.uid,
                    self.line.source,
                    incident,
                    outcome,
                )
                results[index] = SkipRow(
                    folder,
                    message.uid,
                    message.size,
                    "error",
                    f"Lỗi nội bộ (mã {incident}) / Internal error (id {incident})",
                )
        return [result for result in results if result is not None]

    async def _batch(
        self,
        target: str,
        plan: _Planned,
        row: FolderRow,
        stage: _Stage,
        already: Counter[str],
        early: list[SkipRow],
        sizes: dict[int, int],
    ) -> bool:
        """Commit one prepared batch and checkpoint it; False when a pause asks to stop here."""
        progress = self.progress
        skips = list(early)
        uids = stage.uids
        wanted = set(uids)
        results = await self._commit(target, stage)
        stored = sum(1 for r in results if isinstance(r, int))
        stored_bytes = sum(r for r in results if isinstance(r, int))
        full = next((r for r in results if isinstance(r, OverQuota)), None)
        skips.extend(r for r in results if isinstance(r, SkipRow))
        if full is not None:
            # Not checkpointed: what this batch stored is recognised by digest on the next pass.
            raise full
        # The mark moves only when nothing of a batch cut short is left to recognise.
        now = await self.store.mail.mailbox(self.account_id, target)
        mark = now.uidnext if now is not None and not _leftover(already) else self._mark(row)
        self._marks[row.id] = mark
        await self.ledger.checkpoint(
            row.id,
            self.row.id,
            last_uid=uids[-1],
            target_mark=mark,
            messages=stored,
            size=stored_bytes,
            skips=skips,
            at=self.clock(),
        )
        progress.messages_done += stored + sum(1 for s in skips if s.uid in wanted)
        progress.bytes_done += sum(sizes.get(uid, 0) for uid in uids)
        progress.skipped += len(skips) - len(early)
        return not self.stop.is_set()

    def _mark(self, row: FolderRow) -> int:
        return self._marks.get(row.id, row.target_mark)

    async def _finish(
        self, target: str, plan: _Planned, row: FolderRow, last_uid: int, early: list[SkipRow]
    ) -> bool:
        """The pass is complete: every source UID listed is handled (stored, recognised or skipped),
        so the checkpoint moves past them and the mark to our UIDNEXT (digests still unmatched are of
        messages no longer on the source)."""
        final = await self.store.mail.mailbox(self.account_id, target)
        highest = max([last_uid, *(uid for uid, _ in plan.wanted)])
        await self.ledger.checkpoint(
            row.id,
            self.row.id,
            last_uid=highest,
            target_mark=final.uidnext if final is not None else self._mark(row),
            messages=0,
            size=0,
            skips=early,
            at=self.clock(),
        )
        return True

    def _unfit(
        self, folder: str, uid: int, message: SourceMessage | None, refused: str | None
    ) -> SkipRow | None:
        """Why a fetched message cannot be stored at all (missing, unreadable, too large), or None."""
        if message is None:
            if refused is not None:
                return SkipRow(
                    folder,
                    uid,
                    0,
                    "unreadable",
                    f"Máy chủ cũ không đọc được / The server could not read it: {refused}",
                )
            return SkipRow(
                folder, uid, 0, "gone", "Đã bị xóa trên máy chủ cũ / Removed on the former server meanwhile"
            )
        body = message.body
        if isinstance(body, Oversized):
            return SkipRow(
                folder, uid, body.size, "too_large", _too_large(body.size, self.options.literal_limit)
            )
        if body is None:
            return SkipRow(
                folder,
                uid,
                message.size,
                "unreadable",
                "Máy chủ cũ không gửi nội dung / The server sent no body",
            )
        return None

    async def _skip_now(self, skip: SkipRow) -> None:
        self.progress.skipped += 1
        await self.ledger.add_skips(self.row.id, [skip])


def _uidvalidity_note(folder: str) -> str:
    return (
        f"{folder}: UIDVALIDITY đổi, nhập lại cả thư mục (không trùng lặp) / "
        f"UIDVALIDITY changed, folder imported again (no duplicates)"
    )


def _leftover(already: Counter[str]) -> bool:
    return any(count > 0 for count in already.values())


def _batches(wanted: list[tuple[int, int]], count: int, size: int) -> list[list[int]]:
    batches: list[list[int]] = []
    current: list[int] = []
    current_size = 0
    for uid, each in wanted:
        if current and (len(current) >= count or current_size + each > size):
            batches.append(current)
            current, current_size = [], 0
        current.append(uid)
        current_size += each
    if current:
        batches.append(current)
    return batches


def _too_large(size: int, limit: int) -> str:
    return (
        f"Thư {_mb(size)} vượt giới hạn {_mb(limit)} / "
        f"The message of {_mb(size)} is over the {_mb(limit)} limit"
    )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


async def read_ahead(batches: AsyncIterator[T], depth: int) -> AsyncGenerator[T]:
    """`batches`, read by a task of their own up to `depth` ahead of the caller: the old server's
    next answer streams in while this one is being stored, instead of waiting in its socket (a
    batch is megabytes, a socket buffer a few hundred kilobytes). The source's errors reach the
    caller at the batch where they happened."""
    queue: asyncio.Queue[tuple[T | None, BaseException | None, bool]] = asyncio.Queue(maxsize=max(1, depth))

    async def pump() -> None:
        try:
            async for item in batches:
                await queue.put((item, None, False))
        except Exception as error:
            await queue.put((None, error, True))
            return
        await queue.put((None, None, True))

    task = asyncio.create_task(pump())
    try:
        while True:
            item, error, ended = await queue.get()
            if error is not None:
                raise error
            if ended:
                return
            yield item  # type: ignore[misc]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
