"""One group-commit transaction: every delivery waiting at that moment, in a handful of statements.

The rows a batch touches (each account's usage, each target mailbox) are read once, locked (the one
SQLite writer; `FOR UPDATE` on PostgreSQL, in id order); quotas, UIDs and MODSEQs are decided here in
Python, in arrival order; then the changes go back as a few many-row statements. However large the
batch, that is about seven round trips to the database instead of several per message, which is what
lets one commit serve hundreds of messages (DESIGN: group commit).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.mail.envelope import searched_text
from hopthu.mail.headers import sent_day
from hopthu.mail.sortkeys import folded_subject, sender_key, subject_key
from hopthu.policy.quota import fits
from hopthu.store import dialect
from hopthu.store.events import Change
from hopthu.store.flags import SEEN
from hopthu.store.maillog import insert_settled
from hopthu.store.schema import blob, body_text, mail_usage, mailbox, message, queue_item
from hopthu.store.textindex import insert_texts
from hopthu.store.types import Delivered, DeliveryJob, Remote, Target

_CHARGE = (
    sa.update(mail_usage)
    .where(mail_usage.c.account_id == sa.bindparam("k_account"))
    .values(
        bytes=mail_usage.c.bytes + sa.bindparam("k_bytes"),
        messages=mail_usage.c.messages + sa.bindparam("k_messages"),
    )
)
_ADVANCE = (
    sa.update(mailbox)
    .where(mailbox.c.id == sa.bindparam("k_id"))
    .values(
        uidnext=sa.bindparam("k_uidnext"),
        highestmodseq=sa.bindparam("k_modseq"),
        message_count=mailbox.c.message_count + sa.bindparam("k_count"),
        unseen_count=mailbox.c.unseen_count + sa.bindparam("k_unseen"),
    )
)


@dataclass(slots=True)
class _Box:
    id: int
    uidnext: int
    modseq: int
    added: int = 0
    unseen: int = 0


def apply_batch(
    conn: sa.Connection, backend: str, batch: Sequence[DeliveryJob], now: dt.datetime
) -> tuple[list[list[Delivered]], list[Change]]:
    """Store every job of `batch` in the caller's transaction; one result list per job, in order.

    Synchronous on purpose: `Database.run_in_writer` runs it in one go on the database's writer
    thread (SQLite), or through the async driver (PostgreSQL).
    """
    locking = backend == "postgresql"
    accounts = sorted({t.account_id for job in batch for t in job.targets if not isinstance(t, Remote)})
    usage, boxes = _read_locked(conn, accounts, locking)
    charged: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    references: dict[str, int] = defaultdict(int)
    messages: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    results: list[list[Delivered]] = []
    changes: list[Change] = []
    slots: list[tuple[int, int]] = []  # (job, target) of each queue row, to hand back its id
    for job_index, job in enumerate(batch):
        size = len(job.data) + len(job.prefix or b"")
        columns: dict[str, Any] | None = None  # what every recipient's row holds alike
        delivered: list[Delivered] = []
        for target in job.targets:
            if isinstance(target, Remote):
                slots.append((job_index, len(delivered)))
                queued.append(_queue_row(job, target, now))
                delivered.append(Delivered(target))
                references[job.digest] += 1
                continue
            box = boxes.get((target.account_id, target.mailbox))
            if box is None or target.account_id not in usage:
                delivered.append(Delivered(target, refused="no_mailbox"))
                continue
            if not fits(usage[target.account_id], target.quota, size):  # R5.1, exact: rows are locked
                delivered.append(Delivered(target, refused="over_quota"))
                continue
            usage[target.account_id] += size
            charged[target.account_id][0] += size
            charged[target.account_id][1] += 1
            uid, box.uidnext = box.uidnext, box.uidnext + 1
            box.modseq += 1
            box.added += 1
            box.unseen += 0 if target.flags & SEEN else 1
            columns = columns or _message_columns(job, size)
            messages.append(_message_row(columns, target, box.id, uid, box.modseq))
            changes.append(Change(target.account_id, box.id, "append", (uid,), box.modseq))
            delivered.append(Delivered(target, box.id, uid))
            references[job.digest] += 1
        results.append(delivered)

    _reference_blobs(conn, backend, batch, references, now)
    if charged:
        conn.execute(
            _CHARGE, [{"k_account": a, "k_bytes": b, "k_messages": n} for a, (b, n) in charged.items()]
        )
    touched = [b for b in boxes.values() if b.added]
    if touched:
        conn.execute(
            _ADVANCE,
            [
                {
                    "k_id": b.id,
                    "k_uidnext": b.uidnext,
                    "k_modseq": b.modseq,
                    "k_count": b.added,
                    "k_unseen": b.unseen,
                }
                for b in touched
            ],
        )
    if messages:
        body_ids = _store_texts(conn, backend, batch, {row["blob_hash"] for row in messages})
        for row in messages:
            row["body_id"] = body_ids.get(row["blob_hash"])
        conn.execute(sa.insert(message), messages)
    logged = [job_index for job_index, job in enumerate(batch) if job.log is not None]
    if logged:  # R13.1: the entries exist exactly when the messages do
        rows = [log.settle(results[i]) for i in logged if (log := batch[i].log) is not None]
        log_ids = dict(zip(logged, insert_settled(conn, rows), strict=True))
        for row, (job_index, _) in zip(queued, slots, strict=True):
            row["mail_log_id"] = log_ids.get(job_index)
    if queued:
        returning = sa.insert(queue_item).returning(queue_item.c.id, sort_by_parameter_order=True)
        ids = conn.execute(returning, queued).scalars().all()
        for (job_index, position), queue_id in zip(slots, ids, strict=True):
            results[job_index][position] = Delivered(results[job_index][position].target, queue_id=queue_id)
    return results, changes


def _read_locked(
    conn: sa.Connection, accounts: list[int], locking: bool
) -> tuple[dict[int, int], dict[tuple[int, str], _Box]]:
    if not accounts:
        return {}, {}
    usage_query, box_query = _locked_queries(locking)
    params = {"accounts": accounts}
    usage = {row.account_id: row.bytes for row in conn.execute(usage_query, params)}
    boxes = {
        (row.account_id, row.name): _Box(row.id, row.uidnext, row.highestmodseq)
        for row in conn.execute(box_query, params)
    }
    return usage, boxes


@functools.cache
def _locked_queries(locking: bool) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The recipients' usage and mailboxes, `FOR UPDATE` on PostgreSQL: constant statements, so
    their cache keys are made once, not for every batch."""
    accounts: sa.BindParameter[int] = sa.bindparam("accounts", expanding=True)
    usage_query = (
        sa.select(mail_usage.c.account_id, mail_usage.c.bytes)
        .where(mail_usage.c.account_id.in_(accounts))
        .order_by(mail_usage.c.account_id)
    )
    box_query = (
        sa.select(
            mailbox.c.account_id, mailbox.c.name, mailbox.c.id, mailbox.c.uidnext, mailbox.c.highestmodseq
        )
        .where(mailbox.c.account_id.in_(accounts))
        .order_by(mailbox.c.id)
    )
    if locking:
        return usage_query.with_for_update(), box_query.with_for_update()
    return usage_query, box_query


@functools.cache
def blob_upsert(backend: str) -> Any:
    """Insert a body's row, or add to its count (built once per backend, run for many rows)."""
    stmt = dialect.insert(backend, blob)
    total = blob.c.refcount + stmt.excluded.refcount
    return stmt.on_conflict_do_update(
        index_elements=[blob.c.hash],
        set_={"refcount": total, "zero_since": sa.case((total > 0, None), else_=blob.c.zero_since)},
    )


def _reference_blobs(
    conn: sa.Connection,
    backend: str,
    batch: Sequence[DeliveryJob],
    references: dict[str, int],
    now: dt.datetime,
) -> None:
    """Each body's row (made the first time it is seen) gains the references this batch adds."""
    rows: dict[str, dict[str, Any]] = {}
    for job in batch:
        count = references.get(job.digest, 0)
        rows.setdefault(
            job.digest,
            {
                "hash": job.digest,
                "size": len(job.data),
                "stored_size": job.stored_size,
                "refcount": count,
                "zero_since": None if count else now,
                "created_at": now,
            },
        )
    # In hash order, as `_store_texts`: the batches of several workers committing at once on
    # PostgreSQL take these rows' locks in one order, so two batches sharing bodies (a circular sent
    # twice) wait for each other instead of deadlocking.
    conn.execute(blob_upsert(backend), [rows[digest] for digest in sorted(rows)])


def _store_texts(
    conn: sa.Connection, backend: str, batch: Sequence[DeliveryJob], bodies: set[str]
) -> dict[str, int]:
    """The search text of each body that went into a mailbox, stored once: a body already stored
    (the same circular delivered earlier) keeps its row, and the index is kept up by the same
    statement (SQLite: a trigger into FTS5; PostgreSQL: the GIN index). Returns each body's row id,
    which its messages keep (`message.body_id`)."""
    rows: dict[str, dict[str, Any]] = {}
    for job in batch:
        if job.digest in bodies and job.digest not in rows:
            rows[job.digest] = {"hash": job.digest, "text": job.parsed.search_text}
    ordered = sorted(rows)
    ids = dict(conn.execute(insert_texts(backend), [rows[d] for d in ordered]).all())
    kept = [digest for digest in ordered if digest not in ids]  # stored before: a circular again
    if kept:
        ids.update(conn.execute(_TEXT_IDS, {"hashes": kept}).tuples().all())
    return ids


_TEXT_IDS = sa.select(body_text.c.hash, body_text.c.id).where(
    body_text.c.hash.in_(sa.bindparam("hashes", expanding=True))
)


def _message_columns(job: DeliveryJob, size: int) -> dict[str, Any]:
    """A message row's columns that are the same in every recipient's mailbox, made once per
    message (a circular to 500 folds its subject and sender once, not 500 times)."""
    parsed = job.parsed
    key = subject_key(parsed.subject)
    return {
        "internal_date": job.internal_date,
        "size": size,
        "blob_hash": job.digest,
        "prefix": job.prefix,
        "header_end": parsed.header_end,
        "envelope": parsed.envelope,
        "structure": parsed.structure,
        "subject": parsed.subject,
        "sender": parsed.sender,
        "sent_at": parsed.sent_at,
        "sent_day": sent_day(parsed.sent_at, job.internal_date),
        "has_attachments": parsed.has_attachments,
        "preview": parsed.preview,
        "sort_sender": sender_key(parsed.sender),
        "sort_subject": key,
        "folded_subject": folded_subject(parsed.subject, key),
        "folded_from": searched_text(parsed.envelope.get("from")),
    }


def _message_row(
    columns: dict[str, Any], target: Target, mailbox_id: int, uid: int, modseq: int
) -> dict[str, Any]:
    return {
        **columns,
        "mailbox_id": mailbox_id,
        "uid": uid,
        "modseq": modseq,
        "flags": target.flags,
        "keywords": target.keywords,
    }


def _queue_row(job: DeliveryJob, target: Remote, now: dt.datetime) -> dict[str, Any]:
    return {
        "blob_hash": job.digest,
        "prefix": job.prefix,
        "sender": target.sender,
        "recipient": target.recipient,
        "domain": target.recipient.rpartition("@")[2].lower(),
        "account_id": target.account_id,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_error": None,
        "delay_notified": False,
        "created_at": now,
        "finished_at": None,
        "mail_log_id": None,
    }
