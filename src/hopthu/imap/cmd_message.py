"""Commands on the messages of the selected mailbox: FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE,
UID EXPUNGE, CLOSE, UNSELECT (RFC 9051 §6.4, UIDPLUS RFC 4315, MOVE RFC 6851, CONDSTORE RFC 7162,
ESEARCH RFC 4731, SEARCHRES RFC 5182)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from hopthu.directory.standing import quota_limit
from hopthu.imap import commands as c
from hopthu.imap import responses as r
from hopthu.imap.fetch import FetchPlan, render, streamed_head, whole_message
from hopthu.imap.responses import ImapRefusal, bad, flag_list, sequence_set
from hopthu.imap.search import (
    CHARSETS,
    Key,
    Resolve,
    compile_program,
    header_fields,
    matches,
    needs,
    needs_headers,
    split,
)
from hopthu.imap.selected import Selected
from hopthu.imap.session import Session, handles
from hopthu.mail import nul_safe
from hopthu.store import reading, searching
from hopthu.store.flags import RECENT, SEEN, split_flags
from hopthu.store.types import StoredMessage

FETCH_CHUNK = 500
WRITE_CHUNK = 64 * 1024  # a large SEARCH answer is written in parts of this size
LARGE = 5000  # messages from which a whole-mailbox read runs off the event loop
INLINE_READ = 256 * 1024  # bodies up to this size are read on the loop, larger ones in a thread
STREAM_AT = 1024 * 1024  # whole messages larger than this are streamed, never held in memory
_T = TypeVar("_T")


def _writable(selected: Selected) -> None:
    if selected.readonly:
        raise ImapRefusal("Thư mục chỉ đọc (EXAMINE)", "Mailbox is read-only", "READ-ONLY")


@handles(c.Fetch)
async def fetch(session: Session, command: c.Fetch) -> bytes | None:
    selected = session.require_selected()
    if command.changed_since is not None or any(a.name == "MODSEQ" for a in command.attributes):
        session.enable_condstore()
    plan = FetchPlan.of(command.attributes, uid=command.uid, condstore=session.condstore)
    uids = await selected.resolving(session.ctx.store.db, command.messages, command.uid)
    store = session.ctx.store
    place = selected.place
    whole = whole_message(plan)
    shows_flags = any(a.name == "FLAGS" for a in plan.attributes)  # else \Seen set here is told apart
    for start in range(0, len(uids), FETCH_CHUNK):
        rows = await reading.messages(
            store.db, place.mailbox_id, uids[start : start + FETCH_CHUNK], plan.fields
        )
        if command.changed_since is not None:
            rows = [row for row in rows if row.modseq > command.changed_since]
        rows = await _mark_seen(session, plan, rows)
        for stored in rows:
            seq = selected.seq_of(stored.uid)
            if seq is None:
                continue
            row = selected.shown(stored, session.send)
            if whole is not None and row.size > STREAM_AT:
                await _stream(session, plan, seq, row, whole)
            else:
                session.send(render(plan, seq, row, await _body(session, plan, row)))
            if row.uid in selected.reported and not shows_flags:
                flags = b"FLAGS " + flag_list(row.flags, row.keywords)
                session.send(r.fetch(seq, [b"UID %d" % row.uid, flags]))
            await session.flush_if_large()
    return None


async def _stream(
    session: Session, plan: FetchPlan, seq: int, row: StoredMessage, whole: c.FetchAttribute
) -> None:
    """A large message sent as it is read from the blob store, a chunk at a time."""
    session.send(streamed_head(plan, seq, row, whole))
    session.send(nul_safe(row.prefix or b""))
    chunks = session.ctx.store.blobs.stream(row.blob_hash)
    while chunk := await asyncio.to_thread(next, chunks, b""):
        session.send(nul_safe(chunk))
        await session.flush_if_large()
    session.send(b")\r\n")


async def _mark_seen(session: Session, plan: FetchPlan, rows: list[StoredMessage]) -> list[StoredMessage]:
    """A non-PEEK body fetch sets \\Seen (RFC 9051 §6.4.5); the answer then shows the new flags."""
    selected = session.require_selected()
    unseen = [row.uid for row in rows if not row.flags & SEEN]
    if not plan.sets_seen or selected.readonly or not unseen:
        return rows
    place = selected.place
    result = await session.ctx.store.mail.editor.set_flags(
        place.account_id, place.mailbox_id, unseen, "+", SEEN, origin=session.origin
    )
    changed = {flag_row.uid: flag_row for flag_row in result.rows if flag_row.uid in result.changed}
    updated = []
    for row in rows:
        flag_row = changed.get(row.uid)
        if flag_row is None:
            updated.append(row)
            continue
        selected.reported[row.uid] = flag_row.modseq
        updated.append(row._replace(flags=flag_row.flags, modseq=flag_row.modseq))
    return updated


async def _body(session: Session, plan: FetchPlan, row: StoredMessage) -> bytes | None:
    if not plan.body:
        return None
    blobs = session.ctx.store.blobs
    prefix = row.prefix or b""
    if plan.body == "header":
        return prefix + blobs.head(row.blob_hash, row.header_end)
    if row.size <= INLINE_READ:
        return prefix + blobs.get(row.blob_hash)
    return prefix + await asyncio.to_thread(blobs.get, row.blob_hash)


@handles(c.Store)
async def store_flags(session: Session, command: c.Store) -> bytes | None:
    selected = session.require_selected()
    _writable(selected)
    if command.unchanged_since is not None:
        session.enable_condstore()
    bits, keywords = split_flags(command.flags)
    uids = await selected.resolving(session.ctx.store.db, command.messages, command.uid)
    place = selected.place
    result = await session.ctx.store.mail.editor.set_flags(
        place.account_id,
        place.mailbox_id,
        uids,
        command.mode,
        bits,
        keywords,
        unchanged_since=command.unchanged_since,
        origin=session.origin,
    )
    refused = set(result.modified)
    for row in result.rows:
        selected.reported[row.uid] = row.modseq
        selected.announce(row.keywords, session.send)  # RFC 3501 §7.2.6: a new keyword, before its FETCH
        if row.uid in refused or (command.silent and not (session.condstore and row.uid in result.changed)):
            continue
        seq = selected.seq_of(row.uid)
        if seq is None:
            continue
        items = [b"UID %d" % row.uid] if command.uid else []
        if not command.silent:
            flags = row.flags | RECENT if selected.show_recent and selected.is_recent(row.uid) else row.flags
            items.append(b"FLAGS " + flag_list(flags, row.keywords))
        if session.condstore:
            items.append(b"MODSEQ (%d)" % row.modseq)
        session.send(r.fetch(seq, items))
    if refused:
        numbers = sorted(refused) if command.uid else sorted(selected.seq_of(uid) or 0 for uid in refused)
        return (
            b"[MODIFIED " + sequence_set(numbers) + b"] Mot so thu da doi / Some messages changed meanwhile"
        )
    return None


@handles(c.Copy, c.Move)
async def copy(session: Session, command: c.Copy) -> bytes | None:
    selected = session.require_selected()
    moving = isinstance(command, c.Move)
    if moving:
        _writable(selected)
    target = await session.require_places().place(
        session.mailbox_arg(command.mailbox), missing_code="TRYCREATE"
    )
    uids = await selected.resolving(session.ctx.store.db, command.messages, command.uid)
    ctx = session.ctx
    quota = await quota_limit(ctx.store.db, target.account_id)
    source = selected.place
    result = await ctx.store.mail.editor.copy(
        (source.account_id, source.mailbox_id),
        uids,
        (target.account_id, target.mailbox_id),
        quota=quota,
        move=moving,
        origin=session.origin,
    )
    if result.refused == "over_quota":
        raise ImapRefusal(
            "Hộp thư đích đã đầy dung lượng", "The target mailbox is over its quota", "OVERQUOTA"
        )
    if result.refused is not None:
        raise ImapRefusal("Không có thư mục đích", "No such target mailbox", "TRYCREATE")
    if not result.pairs:
        return None
    code = b"[COPYUID %d %s %s]" % (
        result.uidvalidity,
        sequence_set([p[0] for p in result.pairs]),
        sequence_set(sorted(p[1] for p in result.pairs)),
    )
    if not moving:
        return code + b" COPY hoan tat / completed"
    # RFC 6851 §4.3: COPYUID comes untagged, before the EXPUNGEs
    session.send(b"* OK " + code + b" Da chuyen / Moved\r\n")
    selected.expunged([p[0] for p in result.pairs], session.send)
    return None


@handles(c.Expunge, c.UidExpunge)
async def expunge(session: Session, command: c.Expunge | c.UidExpunge) -> bytes | None:
    selected = session.require_selected()
    _writable(selected)
    db = session.ctx.store.db
    within = await selected.resolving(db, command.uids, True) if isinstance(command, c.UidExpunge) else None
    if within is None:
        await selected.load(db)  # every sequence number may be named
    await _expunge_deleted(session, selected, within)
    return None


async def _expunge_deleted(
    session: Session, selected: Selected, within: list[int] | None, *, tell: bool = True
) -> None:
    place = selected.place
    doomed = await reading.deleted_uids(session.ctx.store.db, place.mailbox_id)
    known = set(within or ())
    doomed = [uid for uid in doomed if (uid in known if within is not None else selected.knows(uid))]
    gone = await session.ctx.store.mail.editor.expunge(
        place.account_id, place.mailbox_id, doomed, origin=session.origin
    )
    if tell:
        selected.expunged(gone, session.send)


@handles(c.Close)
async def close(session: Session, _command: c.Close) -> bytes | None:
    selected = session.require_selected()
    if not selected.readonly:  # RFC 9051 §6.4.1: CLOSE expunges silently
        await _expunge_deleted(session, selected, None, tell=False)
    session.unselect()
    return None


@handles(c.Unselect)
async def unselect(session: Session, _command: c.Unselect) -> bytes | None:
    session.unselect()
    return None


@handles(c.Search)
async def search(session: Session, command: c.Search) -> bytes | None:
    selected = session.require_selected()
    if command.charset is not None and command.charset not in CHARSETS:
        raise ImapRefusal("Bảng mã không hỗ trợ", "Unsupported charset", "BADCHARSET (UTF-8 US-ASCII)")
    db, box = session.ctx.store.db, selected.place.mailbox_id
    if not command.uid:
        await selected.load(db)  # the answer is in sequence numbers
    try:
        program = compile_program(command.keys, _loaded(selected), selected.recent_uids)
    except _NotLoaded:  # a sequence set in the program: it may name any message
        await selected.load(db)
        program = compile_program(
            command.keys, partial(selected.resolve, beyond_end=True), selected.recent_uids
        )
    in_store, in_python = split(program)
    fields = needs(in_python)
    uses_modseq = _uses_modseq(program)
    if uses_modseq:
        session.enable_condstore()
        fields.add("modseq")
    # Messages not yet announced (UID above the last the client knows) are left for the next search.
    last = selected.last_uid
    modseqs: dict[int, int] = {}  # uid -> MODSEQ of what was found, when the program names MODSEQ
    if not fields and command.uid and command.returns is None and not session.rev2:
        # The common "UID SEARCH ALL" of a large mailbox: the database writes the numbers.
        listed = await searching.search_uid_text(
            db, box, last, in_store, large=selected.exists > LARGE, cache=session.ctx.store.uid_lists
        )
        session.send(b"* SEARCH" + (b" " if listed else b""))
        await _send_in_chunks(session, listed)
        session.send(b"\r\n")
        return None
    if not fields:
        found = await searching.search_uids(db, box, last, in_store)
    else:
        rows = await searching.search(db, box, last, in_store, fields)
        if in_python:
            check = in_python[0] if len(in_python) == 1 else Key("and", tuple(in_python))
            headers = await _headers(session, rows) if needs_headers(in_python) else {}
            rows = await _off_loop_if(len(rows) > LARGE, _matching, check, rows, headers)
        found = [row.uid for row in rows]
        if uses_modseq:
            modseqs = {row.uid: row.modseq for row in rows}
    numbers = found if command.uid else [selected.seq_of(uid) or 0 for uid in found]
    if command.returns is not None or session.rev2:
        _esearch(session, selected, command, found, numbers, modseqs)
    else:
        highest = max(modseqs.values(), default=0)
        modseq = b" (MODSEQ %d)" % highest if highest else b""
        listed = await _off_loop_if(len(numbers) > LARGE, _listed, numbers)
        session.send(b"* SEARCH" + listed + modseq + b"\r\n")
    return None


def _matching(
    check: Key, rows: list[StoredMessage], headers: dict[int, dict[str, list[str]]]
) -> list[StoredMessage]:
    return [row for row in rows if matches(check, row, headers.get(row.uid))]


def _listed(numbers: list[int]) -> bytes:
    return (" " + " ".join(map(str, numbers))).encode() if numbers else b""


async def _off_loop_if(large: bool, work: Callable[..., _T], *args: Any) -> _T:
    """`work(*args)` on a thread when `large`: checking a common word's SUBJECT in a million messages
    takes seconds, which the loop's other sessions must not wait for (the thread hands the loop its
    turn at every switch interval)."""
    if large:
        return await asyncio.to_thread(work, *args)
    return work(*args)


class _NotLoaded(Exception):
    pass


def _loaded(selected: Selected) -> Resolve:
    """`selected.resolve` while the sequence map is loaded; else `_NotLoaded`."""

    def resolve(numbers: c.SequenceSet, uid: bool) -> list[int]:
        if selected.base:
            raise _NotLoaded
        return selected.resolve(numbers, uid, beyond_end=True)

    return resolve


async def _send_in_chunks(session: Session, data: bytes) -> None:
    """A large answer written a part at a time, letting other sessions run between the parts."""
    for start in range(0, len(data), WRITE_CHUNK):
        session.send(data[start : start + WRITE_CHUNK])
        if len(data) > WRITE_CHUNK:
            await session.flush()
            await asyncio.sleep(0)


def _uses_modseq(key: Key) -> bool:
    return key.kind == "modseq" or (
        key.kind in ("and", "or", "not") and any(_uses_modseq(k) for k in key.args)
    )


async def _headers(session: Session, rows: list[StoredMessage]) -> dict[int, dict[str, list[str]]]:
    blobs = session.ctx.store.blobs

    def read_all() -> dict[int, dict[str, list[str]]]:
        return {
            row.uid: header_fields((row.prefix or b"") + blobs.head(row.blob_hash, row.header_end))
            for row in rows
        }

    return await asyncio.to_thread(read_all)


def _esearch(
    session: Session,
    selected: Selected,
    command: c.Search,
    found: list[int],
    numbers: list[int],
    modseqs: dict[int, int],
) -> None:
    """RFC 4731 ESEARCH answer (and RFC 5182 SAVE); IMAP4rev2 always answers this way. With MODSEQ
    in the program, the answer's MODSEQ is the highest of the messages it reports: those of MIN and
    MAX when only they are asked for (RFC 7162 §3.1.5), else of all found."""
    returns = set(command.returns or ()) or {"ALL"}
    unknown = returns - {"MIN", "MAX", "COUNT", "ALL", "SAVE"}
    if unknown:
        raise bad("Tùy chọn RETURN không biết", f"unknown RETURN option {sorted(unknown)[0]}")
    if "SAVE" in returns:
        selected.saved = found
        returns.discard("SAVE")
        if not returns and command.returns:
            return
    parts = [b'* ESEARCH (TAG "' + command.tag.encode() + b'")']
    if command.uid:
        parts.append(b"UID")
    if numbers:
        if "MIN" in returns:
            parts.append(b"MIN %d" % min(numbers))
        if "MAX" in returns:
            parts.append(b"MAX %d" % max(numbers))
        if "ALL" in returns:
            parts.append(b"ALL " + sequence_set(sorted(numbers)))
    if "COUNT" in returns:
        parts.append(b"COUNT %d" % len(numbers))
    reported = found
    if found and not returns & {"ALL", "COUNT"}:
        reported = [found[numbers.index(min(numbers))]] if "MIN" in returns else []
        reported += [found[numbers.index(max(numbers))]] if "MAX" in returns else []
    highest = max((modseqs.get(uid, 0) for uid in reported), default=0)
    if highest:
        parts.append(b"MODSEQ %d" % highest)
    session.send(b" ".join(parts) + b"\r\n")
