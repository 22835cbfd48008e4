"""The mail log's store on both backends (R13.1): the entry of a stored or queued message is written
in the delivery's own transaction with each recipient's fate; refused messages' entries wait in a
bounded buffer; every traced field finds its entry; events and the queue's fates reach it; the
document is compact and never inflates without bound; the purge keeps 179 days and drops 181."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import sqlalchemy as sa
import zstandard

from hopthu.jobs import maillog as maillog_job
from hopthu.jobs.base import JobContext
from hopthu.mail import canonical, parse
from hopthu.store import Store, maillog
from hopthu.store.maillog import Fate, LogEntry, MailLog, Query, pack, unpack
from hopthu.store.mailstore import Remote, Target
from hopthu.store.schema import mail_log, mail_log_event, queue_item
from tests.factories import make_account

RECEIVED = (
    "Received: from mail.haugiang.gov.vn (mail.haugiang.gov.vn [203.162.10.5])\r\n\tby mx.cantho.gov.vn "
    "with ESMTPS id 1a2b3c; Mon, 02 Mar 2026 08:30:01 +0700\r\n"
    "Received: from [192.168.1.20] by mail.haugiang.gov.vn with ESMTPSA id 4d5e; Mon, 02 Mar 2026 "
    "08:30:00 +0700\r\n"
    "Received: from localhost by pc-vanthu.haugiang.gov.vn; Mon, 02 Mar 2026 08:29:59 +0700\r\n"
)


def _message(
    subject: str = "Giấy mời họp giao ban quý 1",
    message_id: str = "<gm-1@haugiang.gov.vn>",
    author: str = "Nguyễn Văn Minh <NVMinh@haugiang.gov.vn>",
) -> bytes:
    return canonical(
        (
            RECEIVED + f"From: {author}\r\nTo: canbo1@cantho.gov.vn\r\n"
            "Cc: vanthu@haugiang.gov.vn\r\n"
            f"Subject: {subject}\r\nDate: Mon, 02 Mar 2026 08:29:59 +0700\r\nMessage-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKính gửi các đơn vị.\r\n"
        ).encode()
    )


def _entry(at: dt.datetime, data: bytes, recipients: list[str], **changes) -> LogEntry:
    from hopthu.protection import trace

    made = trace.entry(
        at=at,
        channel=changes.pop("channel", "mx"),
        client_ip=changes.pop("client_ip", "203.162.10.5"),
        helo="mail.haugiang.gov.vn",
        mail_from=changes.pop("mail_from", "nvminh@haugiang.gov.vn"),
        recipients=recipients,
        data=data,
        parsed=parse(data),
        prefix=b"",
        inspection=None,
        auth={"spf": "pass", "dkim": ["pass"], "dmarc": "pass"},
        outcome=changes.pop("outcome", "delivered"),
        verdict=changes.pop("verdict", None),
    )
    made.reached = list(recipients)
    return made


async def _rows(store: Store) -> list[sa.Row]:
    async with store.db.read() as conn:
        return list(await conn.execute(sa.select(mail_log).order_by(mail_log.c.id)))


async def test_a_delivery_writes_its_entry_in_its_own_transaction(store: Store, clock) -> None:
    account = await make_account(store, "canbo1")
    data = _message()
    entry = _entry(clock(), data, ["canbo1@cantho.gov.vn", "ban@example.org"])
    results = await store.mail.deliver(
        data,
        parse(data),
        [Target(account, quota=10**9), Remote("nvminh@haugiang.gov.vn", "ban@example.org")],
        log=entry,
    )
    assert results[0].uid is not None and results[1].queue_id is not None
    (row,) = await _rows(store)
    assert row.direction == "in" and row.mail_from == "nvminh@haugiang.gov.vn"
    assert row.header_from == "nvminh@haugiang.gov.vn" and row.subject == "Giấy mời họp giao ban quý 1"
    assert row.message_id == "<gm-1@haugiang.gov.vn>" and row.outcome == "queued"
    assert row.recipients == "canbo1@cantho.gov.vn ban@example.org" and row.size == len(data)
    details = unpack(row.details)
    assert details["fates"] == {"canbo1@cantho.gov.vn": "inbox", "ban@example.org": "queued"}
    assert details["to"] == ["canbo1@cantho.gov.vn"] and details["cc"] == ["vanthu@haugiang.gov.vn"]
    assert len(details["received"]) == 3 and details["received"][0].startswith("from mail.haugiang.gov.vn")
    assert details["date"] == "Mon, 02 Mar 2026 08:29:59 +0700"
    async with store.db.read() as conn:
        linked = (await conn.execute(sa.select(queue_item.c.mail_log_id))).scalar_one()
    assert linked == row.id


async def test_a_full_mailbox_is_its_fate_and_the_outcome_says_refused(store: Store, clock) -> None:
    account = await make_account(store, "canbo1", quota=10)
    data = _message()
    await store.mail.deliver(
        data, parse(data), [Target(account, quota=10)], log=_entry(clock(), data, ["canbo1@cantho.gov.vn"])
    )
    (row,) = await _rows(store)
    assert row.outcome == "refused" and unpack(row.details)["fates"] == {"canbo1@cantho.gov.vn": "over_quota"}


async def test_refused_entries_wait_in_a_bounded_buffer(store: Store, clock, monkeypatch) -> None:
    log = MailLog(store.db)
    monkeypatch.setattr(maillog, "BUFFER_LIMIT", 3)
    for n in range(2):
        await log.record(
            _entry(clock(), _message(message_id=f"<r{n}@x>"), ["a@cantho.gov.vn"], outcome="refused")
        )
    await log.record(_entry(clock(), _message(message_id="<r2@x>"), ["a@cantho.gov.vn"], outcome="refused"))
    # The third reached the bound: written by the caller itself, the two before it with it.
    assert [r.message_id for r in await _rows(store)] == ["<r0@x>", "<r1@x>", "<r2@x>"]
    await log.record(_entry(clock(), _message(message_id="<r3@x>"), ["a@cantho.gov.vn"], outcome="refused"))
    await log.close()  # the server's stop writes what still waits
    assert len(await _rows(store)) == 4


async def test_every_traced_field_finds_the_entry(store: Store, clock) -> None:
    log = MailLog(store.db)
    wanted = _entry(
        clock(), _message(), ["canbo1@cantho.gov.vn", "canbo2@cantho.gov.vn"], verdict="spam", outcome="junk"
    )
    other = _entry(
        clock() - dt.timedelta(days=3),
        _message("Báo cáo tháng", "<other@x>", "khac@example.org"),
        ["canbo10@cantho.gov.vn"],
        mail_from="khac@example.org",
        client_ip="192.0.2.9",
    )
    await log.record(wanted)
    await log.record(other)
    await log.flush()
    day = clock().replace(hour=0, minute=0)
    for query in (
        Query(sender="NVMinh@haugiang.gov.vn"),
        Query(recipient="canbo2@cantho.gov.vn"),
        Query(recipient="canbo1@cantho.gov.vn"),
        Query(header_from="nvminh@haugiang.gov.vn"),
        Query(subject="giao ban"),
        Query(message_id="gm-1@haugiang.gov.vn"),
        Query(message_id="<gm-1@haugiang.gov.vn>"),
        Query(client_ip="203.162.10.5"),
        Query(verdict="spam"),
        Query(outcome="junk"),
        Query(since=day, until=day + dt.timedelta(days=1)),
    ):
        found = await log.search(query)
        assert [f.message_id for f in found] == ["<gm-1@haugiang.gov.vn>"], query
    assert await log.search(Query(recipient="canbo1@cantho.gov")) == []  # a whole address, not a part
    assert await log.search(Query(subject="100%_")) == []  # LIKE's wildcards are plain characters
    newest, older = await log.search(Query(), limit=2)
    assert (await log.search(Query(), before_id=newest.id)) == [older]


async def test_events_by_id_and_by_message_id(store: Store, clock) -> None:
    log = MailLog(store.db)
    await log.record(_entry(clock(), _message(), ["canbo1@cantho.gov.vn"], outcome="held"))
    await log.flush()
    (row,) = await _rows(store)
    assert (
        await log.add_event(at=clock(), kind="released", message_id="gm-1@haugiang.gov.vn", actor="ttnanh")
        == 1
    )
    assert await log.add_event(at=clock(), kind="note", entry_id=row.id, detail="đã kiểm tra") == 1
    assert await log.add_event(at=clock(), kind="note", entry_id=row.id + 99) == 0
    detail = await log.entry(row.id)
    assert detail is not None
    assert [(e.kind, e.actor, e.detail) for e in detail.events] == [
        ("released", "ttnanh", ""),
        ("note", "", "đã kiểm tra"),
    ]


async def test_the_queue_fates_decide_the_outcome(store: Store, clock) -> None:
    data = _message()
    entry = _entry(clock(), data, ["a@example.org", "b@example.org"], channel="submission")
    await store.mail.deliver(
        data,
        parse(data),
        [Remote("x@cantho.gov.vn", "a@example.org"), Remote("x@cantho.gov.vn", "b@example.org")],
        log=entry,
    )
    (row,) = await _rows(store)

    async def settle(recipient: str, status: str, attempts: int, kind: str) -> str:
        async with store.db.write() as conn:
            await conn.execute(
                sa.update(queue_item)
                .where(queue_item.c.recipient == recipient)
                .values(status=status, attempts=attempts)
            )
            await maillog.record_fates(conn, [Fate(row.id, recipient, kind, "250 ok")], clock())
        return (await _rows(store))[0].outcome

    assert await settle("a@example.org", "delivered", 1, "sent") == "queued"  # b is still waiting
    assert await settle("b@example.org", "queued", 1, "deferred") == "deferred"
    assert await settle("b@example.org", "delivered", 2, "sent") == "sent"
    assert await settle("b@example.org", "bounced", 3, "bounced") == "bounced"
    async with store.db.read() as conn:
        kinds = list(
            (await conn.execute(sa.select(mail_log_event.c.kind).order_by(mail_log_event.c.id))).scalars()
        )
    assert kinds == ["sent", "deferred", "sent", "bounced"]


def test_the_document_is_compact_and_its_reading_bounded() -> None:
    details = {
        "received": ["from a by b with ESMTPS id 1; Mon, 02 Mar 2026 08:30:00 +0700"] * 4,
        "to": ["a@b"],
    }
    packed = pack(details)
    assert unpack(packed) == details
    assert len(packed) < len(str(details)) / 2
    assert unpack(b"\x01garbage") == {} and unpack(b"\x07") == {} and unpack(None) == {}
    bomb = b"\x00" + zstandard.ZstdCompressor().compress(b"[" + b"0," * (maillog.MAX_DETAILS) + b"0]")
    assert unpack(bomb) == {}  # past MAX_DETAILS: never inflated


async def test_the_purge_keeps_179_days_and_drops_181(store: Store, settings, clock) -> None:
    log = MailLog(store.db)
    now = clock()
    ages = {"<kept-179@x>": 179, "<gone-181@x>": 181, "<gone-300@x>": 300, "<new@x>": 0}
    for message_id, days in ages.items():
        await log.record(
            _entry(now - dt.timedelta(days=days), _message(message_id=message_id), ["a@cantho.gov.vn"])
        )
    await log.flush()
    (row,) = [r for r in await _rows(store) if r.message_id == "<gone-181@x>"]
    await log.add_event(at=now, kind="note", entry_id=row.id)
    services = SimpleNamespace(store=store, settings=settings)
    summary = await maillog_job.purge(JobContext(services, now))
    assert summary == {"removed": 2}
    assert sorted(r.message_id for r in await _rows(store)) == ["<kept-179@x>", "<new@x>"]
    async with store.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(mail_log_event))).scalar_one() == 0


async def test_the_purge_goes_in_small_batches(store: Store, clock) -> None:
    log = MailLog(store.db)
    for n in range(5):
        await log.record(
            _entry(clock() - dt.timedelta(days=200), _message(message_id=f"<{n}@x>"), ["a@cantho.gov.vn"])
        )
    await log.flush()
    assert await log.purge(clock() - dt.timedelta(days=180), batch=2) == 5
    assert await _rows(store) == []


def test_the_job_is_scheduled_daily() -> None:
    from hopthu.jobs.scheduler import JOBS

    (job,) = [j for j in JOBS if j.name == "maillog"]
    assert job.every == dt.timedelta(days=1) and job.run is maillog_job.purge
