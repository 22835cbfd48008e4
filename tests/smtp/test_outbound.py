"""The outbound queue against a fake remote MX (aiosmtpd on 127.0.0.1), on both store backends.

DNS is a `StaticResolver`: `example.org` (and friends) point at `mx.example.org`, whose address is
127.0.0.1, and `smtp.outbound_port` is the fake's port. Time is the `clock` fixture, moved by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import email.policy
import json
import os
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from hopthu.cli import queue as queue_cli
from hopthu.cli.common import State
from hopthu.config import Settings, sample_config
from hopthu.mail import canonical, parse
from hopthu.security.certs import make_self_signed
from hopthu.smtp.dns import StaticResolver
from hopthu.smtp.dsn import DsnRecipient, build_dsn, meaning
from hopthu.smtp.mxclient import from_reply
from hopthu.smtp.outbound import (
    IDLE_SECONDS,
    MIN_PAUSE_SECONDS,
    RCPT_LIMIT,
    OutboundQueue,
    QueueRow,
    group_rows,
)
from hopthu.store import Store
from hopthu.store.mailstore import Remote, Target
from hopthu.store.schema import audit_event, blob, queue_item
from tests.factories import make_account, make_message

SENDER = "nvminh@cantho.gov.vn"
PREFIX = b"DKIM-Signature: v=1; a=rsa-sha256; d=cantho.gov.vn; s=hopthu; b=dGVzdA==\r\n"


# --- the fake remote MX ------------------------------------------------------------------------------


@dataclass
class Arrival:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    helo: str
    reply: str


@dataclass
class RemoteMX:
    """Records every transaction; answers RCPT and DATA with what the test sets."""

    arrivals: list[Arrival] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 2.0.0 Ok: queued"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.arrivals.append(
                Arrival(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    session.ssl is not None,
                    session.host_name,
                    self.data_reply,
                )
            )
        return self.data_reply

    @property
    def delivered(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.reply.startswith("2")]


class FakeMX(Controller):
    """aiosmtpd's Controller on port 0: the port the system chose is read back before first use."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start_mx(remote: RemoteMX, **smtp_options) -> FakeMX:
    controller = FakeMX(remote, hostname="127.0.0.1", port=0, **smtp_options)
    controller.start()
    return controller


@pytest.fixture
def remote() -> Iterator[tuple[RemoteMX, FakeMX]]:
    handler = RemoteMX()
    controller = start_mx(handler)
    yield handler, controller
    controller.stop()


@pytest.fixture
def mx(remote) -> RemoteMX:
    return remote[0]


def outbound_settings(settings: Settings, port: int) -> Settings:
    smtp = dataclasses.replace(
        settings.smtp,
        outbound_port=port,
        outbound_timeout_seconds=5.0,
        retry_minutes=(5, 10),
        delay_notice_hours=1,
        queue_lifetime_hours=3,
    )
    return dataclasses.replace(settings, smtp=smtp)


def resolver(**extra) -> StaticResolver:
    mx_records = {
        "example.org": [(10, "mx.example.org")],
        "example.net": [(10, "mx.example.org")],
        "nomail.example": [(0, ".")],
    }
    addresses = {"mx.example.org": ["127.0.0.1"]}
    mx_records.update(extra.pop("mx_records", {}))
    addresses.update(extra.pop("address_records", {}))
    return StaticResolver(mx_records=mx_records, address_records=addresses, **extra)


@dataclass
class Notices:
    """A `send_notice` that records what it is given."""

    sent: list[tuple[bytes, str]] = field(default_factory=list)

    async def __call__(self, data: bytes, address: str) -> None:
        self.sent.append((data, address))


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def worker(store, settings, remote, clock, notices) -> OutboundQueue:
    return OutboundQueue(
        store, outbound_settings(settings, remote[1].port), resolver(), clock=clock, send_notice=notices
    )


# --- helpers -----------------------------------------------------------------------------------------


async def queue(
    store: Store,
    recipients: list[str],
    *,
    sender: str = SENDER,
    subject: str = "Công văn số 123",
    prefix: bytes | None = PREFIX,
    local: int | None = None,
) -> tuple[bytes, list[int]]:
    """Deliver a message for remote `recipients` (and a local copy when `local` is given)."""
    data = canonical(make_message(subject, size=3000))
    targets: list[Target | Remote] = [Target(local, quota=10**9)] if local else []
    targets += [Remote(sender, r) for r in recipients]
    results = await store.mail.deliver(data, parse(data), targets, prefix=prefix)
    return data, [r.queue_id for r in results if r.queue_id]


async def rows(store: Store) -> dict[str, sa.Row]:
    async with store.db.read() as conn:
        return {r.recipient: r for r in await conn.execute(sa.select(queue_item).order_by(queue_item.c.id))}


async def refcount(store: Store, digest: str) -> int:
    async with store.db.read() as conn:
        return (await conn.execute(sa.select(blob.c.refcount).where(blob.c.hash == digest))).scalar_one()


def report(notice: bytes) -> tuple[email.message.EmailMessage, list[email.message.Message]]:
    """The notice parsed by the standard library, and its per-recipient delivery-status blocks."""
    message = email.message_from_bytes(notice, policy=email.policy.default)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    human, status, headers = message.get_payload()
    assert human.get_content_type() == "text/plain"
    assert headers.get_content_type() == "text/rfc822-headers"
    blocks = status.get_payload()
    return message, blocks[1:]


# --- delivery ----------------------------------------------------------------------------------------


async def test_delivered_bytes_arrive_exactly_and_release_the_body(store, worker, mx, clock) -> None:
    account = await make_account(store, "nvminh")
    data, _ = await queue(store, ["ban@example.org"], local=account)
    row = (await rows(store))["ban@example.org"]
    assert await refcount(store, row.blob_hash) == 2  # the local copy and the queue row

    assert await worker.run_once() == 1

    [arrival] = mx.arrivals
    assert arrival.content == PREFIX + data
    assert (arrival.mail_from, arrival.rcpt_tos) == (SENDER, ["ban@example.org"])
    assert arrival.helo == "mail.cantho.gov.vn"
    row = (await rows(store))["ban@example.org"]
    assert (row.status, row.attempts, row.finished_at, row.lease_until) == ("delivered", 1, clock.now, None)
    assert await refcount(store, row.blob_hash) == 1
    assert await worker.run_once() == 0  # nothing is sent twice


async def test_recipients_of_one_domain_share_one_transaction(store, worker, mx) -> None:
    await queue(store, ["a@example.org", "b@example.org", "c@example.org", "d@example.net"])
    assert await worker.run_once() == 4
    by_domain = sorted((a.rcpt_tos for a in mx.arrivals), key=len)
    assert by_domain == [["d@example.net"], ["a@example.org", "b@example.org", "c@example.org"]]
    assert {r.status for r in (await rows(store)).values()} == {"delivered"}


def test_groups_hold_each_recipient_once_and_at_most_the_limit() -> None:
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

    def row(n: int, recipient: str, digest: str = "h1") -> QueueRow:
        return QueueRow(n, digest, None, SENDER, recipient, "example.org", 0, False, now)

    many = [row(n, f"r{n}@example.org") for n in range(RCPT_LIMIT + 1)]
    twice = [row(900, "x@example.org"), row(901, "X@example.org"), row(902, "y@example.org", "h2")]
    groups = group_rows(many + twice)
    assert [len(g) for g in groups] == [RCPT_LIMIT, 2, 1, 1]
    assert [r.id for r in groups[1]] == [RCPT_LIMIT, 900]
    assert [r.id for r in groups[2]] == [901]


async def test_permanent_refusal_bounces_to_the_local_sender(store, settings, remote, clock) -> None:
    mx, controller = remote
    account = await make_account(store, "nvminh")

    async def into_inbox(data: bytes, address: str) -> None:
        assert address == SENDER
        data = canonical(data)
        await store.mail.deliver(data, parse(data), [Target(account, quota=10**9)])

    worker = OutboundQueue(
        store, outbound_settings(settings, controller.port), resolver(), clock=clock, send_notice=into_inbox
    )
    mx.rcpt_replies["khongco@example.org"] = "550 5.1.1 <khongco@example.org>: No such user"
    await queue(store, ["ban@example.org", "khongco@example.org"], subject="Giấy mời họp")
    await worker.run_once()

    state = await rows(store)
    assert state["ban@example.org"].status == "delivered"
    bounced = state["khongco@example.org"]
    assert (bounced.status, bounced.finished_at) == ("bounced", clock.now)
    assert bounced.last_error.startswith("5.1.1 mx.example.org: 550")
    assert await refcount(store, bounced.blob_hash) == 0
    assert [a.rcpt_tos for a in mx.arrivals] == [["ban@example.org"]]

    inbox = await store.mail.mailbox(account, "INBOX")
    [summary] = await store.mail.messages(inbox.id)
    assert summary.subject == "Thư không gửi được / Undelivered mail"
    assert "MAILER-DAEMON@cantho.gov.vn" in summary.sender
    message, [block] = report(await store.mail.message_bytes(inbox.id, summary.uid))
    assert message["Auto-Submitted"] == "auto-replied"
    assert block["Final-Recipient"] == "rfc822; khongco@example.org"
    assert (block["Action"], block["Status"]) == ("failed", "5.1.1")
    assert block["Remote-MTA"] == "dns; mx.example.org"
    assert block["Diagnostic-Code"] == "smtp; 550 5.1.1 <khongco@example.org>: No such user"
    text = message.get_body(("plain",)).get_content()
    assert "Giấy mời họp" in text and "địa chỉ người nhận không tồn tại" in text
    assert "the recipient's address does not exist" in text


async def test_refused_data_bounces_every_accepted_recipient(store, worker, mx, notices) -> None:
    mx.data_reply = "554 5.7.1 Message refused as spam"
    await queue(store, ["a@example.org", "b@example.org"])
    await worker.run_once()
    assert {r.status for r in (await rows(store)).values()} == {"bounced"}
    [(notice, to)] = notices.sent
    _, blocks = report(notice)
    assert to == SENDER
    assert [(b["Final-Recipient"], b["Status"]) for b in blocks] == [
        ("rfc822; a@example.org", "5.7.1"),
        ("rfc822; b@example.org", "5.7.1"),
    ]


async def test_a_bounce_is_never_bounced(store, worker, mx, notices) -> None:
    mx.rcpt_replies["khongco@example.org"] = "550 5.1.1 No such user"
    await queue(store, ["khongco@example.org"], sender="")
    await worker.run_once()
    assert (await rows(store))["khongco@example.org"].status == "bounced"
    assert notices.sent == []


# --- temporary failures ------------------------------------------------------------------------------


async def test_temporary_refusal_is_retried_on_schedule(store, worker, mx, clock, notices) -> None:
    mx.data_reply = "451 4.3.0 Try again later"
    start = clock.now
    await queue(store, ["ban@example.org"])

    expected = [start + dt.timedelta(minutes=5), start + dt.timedelta(minutes=15)]
    expected.append(expected[-1] + dt.timedelta(minutes=10))  # the last step repeats
    for attempt, due in enumerate(expected, start=1):
        assert await worker.run_once() == 1
        row = (await rows(store))["ban@example.org"]
        assert (row.status, row.attempts, row.next_attempt_at, row.lease_until) == (
            "queued",
            attempt,
            due,
            None,
        )
        assert row.last_error == "4.3.0 mx.example.org: 451 4.3.0 Try again later"
        clock.now = due - dt.timedelta(seconds=1)
        assert await worker.run_once() == 0  # not due yet
        clock.now = due

    mx.data_reply = "250 2.0.0 Ok"
    assert await worker.run_once() == 1
    assert (await rows(store))["ban@example.org"].status == "delivered"
    assert len(mx.arrivals) == 4 and notices.sent == []


async def test_one_delay_notice_then_a_final_bounce_at_the_end_of_the_lifetime(
    store, worker, mx, clock, notices
) -> None:
    mx.data_reply = "452 4.2.2 Mailbox full"
    start = clock.now
    await queue(store, ["ban@example.org"])
    await worker.run_once()
    assert notices.sent == []  # not late yet

    clock.now = start + dt.timedelta(hours=1)  # delay_notice_hours
    await worker.run_once()
    [(notice, to)] = notices.sent
    message, [block] = report(notice)
    assert to == SENDER
    assert message["Subject"] == "Thư chưa gửi được, đang gửi lại / Delivery delayed, still trying"
    assert (block["Action"], block["Status"]) == ("delayed", "4.2.2")
    assert block["Will-Retry-Until"] == email.utils.format_datetime(start + dt.timedelta(hours=3))
    assert (await rows(store))["ban@example.org"].delay_notified

    clock.advance(minutes=10)
    await worker.run_once()
    assert len(notices.sent) == 1  # once only

    clock.now = start + dt.timedelta(hours=2, minutes=55)
    await worker.run_once()
    row = (await rows(store))["ban@example.org"]
    assert row.next_attempt_at == start + dt.timedelta(hours=3)  # the last try falls at the lifetime's end
    clock.now = row.next_attempt_at
    await worker.run_once()
    row = (await rows(store))["ban@example.org"]
    assert (row.status, row.finished_at) == ("bounced", clock.now)
    assert await refcount(store, row.blob_hash) == 0
    assert len(notices.sent) == 2
    message, [block] = report(notices.sent[-1][0])
    assert message["Subject"] == "Thư không gửi được / Undelivered mail"
    assert (block["Action"], block["Status"]) == ("failed", "4.2.2")
    assert "hết thời gian gửi lại" in message.get_body(("plain",)).get_content()


async def test_dns_failure_is_temporary(store, settings, remote, clock, notices) -> None:
    worker = OutboundQueue(
        store,
        outbound_settings(settings, remote[1].port),
        resolver(failing=frozenset({"example.org"})),
        clock=clock,
        send_notice=notices,
    )
    await queue(store, ["ban@example.org"])
    await worker.run_once()
    row = (await rows(store))["ban@example.org"]
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error.startswith("4.4.3 MX lookup for example.org failed")
    assert notices.sent == [] and remote[0].arrivals == []


async def test_unreachable_mx_falls_to_the_next_one(store, settings, remote, clock, notices) -> None:
    # 127.0.0.2 is loopback too, but nothing listens there: the connection is refused.
    routes = resolver(
        mx_records={
            "example.org": [(10, "down.example.org"), (20, "mx.example.org")],
            "dead.example": [(10, "down.example.org")],
        },
        address_records={"down.example.org": ["127.0.0.2"]},
    )
    worker = OutboundQueue(
        store, outbound_settings(settings, remote[1].port), routes, clock=clock, send_notice=notices
    )
    await queue(store, ["ban@example.org", "ai@dead.example"])
    await worker.run_once()
    state = await rows(store)
    assert state["ban@example.org"].status == "delivered"
    assert (state["ai@dead.example"].status, state["ai@dead.example"].last_error[:6]) == ("queued", "4.4.1 ")


# --- routes that can never work ----------------------------------------------------------------------


async def test_null_mx_bounces_at_once(store, worker, mx, notices) -> None:
    await queue(store, ["ai@nomail.example"])
    await worker.run_once()
    row = (await rows(store))["ai@nomail.example"]
    assert (row.status, row.attempts) == ("bounced", 1)
    _, [block] = report(notices.sent[0][0])
    assert (block["Action"], block["Status"]) == ("failed", "5.1.10")  # RFC 7505 §3
    assert mx.arrivals == []


async def test_without_mx_the_domain_itself_is_the_mail_server(
    store, settings, remote, clock, notices
) -> None:
    routes = resolver(address_records={"plain.example": ["127.0.0.1"]})
    worker = OutboundQueue(
        store, outbound_settings(settings, remote[1].port), routes, clock=clock, send_notice=notices
    )
    await queue(store, ["ai@plain.example", "ai@nowhere.example"])
    await worker.run_once()
    state = await rows(store)
    assert state["ai@plain.example"].status == "delivered"
    assert state["ai@nowhere.example"].status == "bounced"  # no MX and no address: no such mail domain
    _, [block] = report(notices.sent[0][0])
    assert block["Status"] == "5.1.2"


@pytest.mark.parametrize("smtputf8", [True, False])
async def test_non_ascii_addresses_need_smtputf8(store, settings, clock, notices, smtputf8: bool) -> None:
    handler = RemoteMX()
    controller = start_mx(handler, enable_SMTPUTF8=smtputf8)
    try:
        worker = OutboundQueue(
            store, outbound_settings(settings, controller.port), resolver(), clock=clock, send_notice=notices
        )
        await queue(store, ["nguyễn@example.org"])
        await worker.run_once()
    finally:
        controller.stop()
    row = (await rows(store))["nguyễn@example.org"]
    if smtputf8:  # RFC 6531 §3.4: MAIL FROM carries SMTPUTF8 and the address goes as UTF-8
        assert row.status == "delivered" and handler.arrivals[0].rcpt_tos == ["nguyễn@example.org"]
    else:  # never sent to a server that did not offer it
        assert (row.status, handler.arrivals) == ("bounced", [])
        assert report(notices.sent[0][0])[1][0]["Status"] == "5.6.7"


# --- TLS -----------------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "mx-cert.pem", tmp_path / "mx-key.pem"
    make_self_signed(cert, key, ["mx.example.org"])
    return cert, key


async def test_starttls_is_used_when_offered_without_checking_the_certificate(
    store, settings, clock, notices, certificate
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)  # self-signed: a verifying client would refuse it
    handler = RemoteMX()
    controller = start_mx(handler, tls_context=context)
    try:
        worker = OutboundQueue(
            store, outbound_settings(settings, controller.port), resolver(), clock=clock, send_notice=notices
        )
        data, _ = await queue(store, ["ban@example.org"])
        await worker.run_once()
    finally:
        controller.stop()
    [arrival] = handler.arrivals
    assert arrival.tls and arrival.content == PREFIX + data


async def test_a_failed_tls_handshake_falls_back_to_plain_text(
    store, settings, clock, notices, certificate
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # the refusal comes inside the handshake
    context.verify_mode = ssl.CERT_REQUIRED  # we present no client certificate: the handshake fails
    context.load_verify_locations(certificate[0])
    handler = RemoteMX()
    controller = start_mx(handler, tls_context=context)
    try:
        worker = OutboundQueue(
            store, outbound_settings(settings, controller.port), resolver(), clock=clock, send_notice=notices
        )
        await queue(store, ["ban@example.org"])
        await worker.run_once()
    finally:
        controller.stop()
    [arrival] = handler.arrivals
    assert not arrival.tls
    assert (await rows(store))["ban@example.org"].status == "delivered"


# --- leases, restarts, and the loop --------------------------------------------------------------------


async def test_the_queue_survives_a_restart(settings, remote, clock, notices) -> None:
    mx, controller = remote
    config = outbound_settings(settings, controller.port)
    store = await Store.open(settings, clock=clock)
    try:
        mx.data_reply = "421 4.3.2 Shutting down"
        await queue(store, ["ban@example.org"])
        await OutboundQueue(store, config, resolver(), clock=clock, send_notice=notices).run_once()
    finally:
        await store.close()

    clock.advance(minutes=5)
    mx.data_reply = "250 2.0.0 Ok"
    store = await Store.open(settings, clock=clock)
    try:
        assert (
            await OutboundQueue(store, config, resolver(), clock=clock, send_notice=notices).run_once() == 1
        )
        row = (await rows(store))["ban@example.org"]
        assert (row.status, row.attempts) == ("delivered", 2)
    finally:
        await store.close()


async def test_a_lease_that_ran_out_is_taken_again(store, worker, mx, clock) -> None:
    [_, [item]] = await queue(store, ["ban@example.org"])
    lease = clock.now + dt.timedelta(minutes=20)  # another node took the row, then died
    async with store.db.write() as conn:
        await conn.execute(sa.update(queue_item).where(queue_item.c.id == item).values(lease_until=lease))
    assert await worker.run_once() == 0
    clock.now = lease
    assert await worker.run_once() == 1
    assert (await rows(store))["ban@example.org"].status == "delivered"


async def test_a_result_after_losing_the_lease_is_dropped(store, worker, mx, clock) -> None:
    """A node too slow for its lease must not overwrite the node that took the row over."""
    await queue(store, ["ban@example.org"])
    original = worker.client.transmit

    async def slow(*args):
        outcomes = await original(*args)
        async with store.db.write() as conn:  # meanwhile another node retook the row
            await conn.execute(sa.update(queue_item).values(lease_until=clock.now + dt.timedelta(hours=1)))
        return outcomes

    worker.client.transmit = slow
    await worker.run_once()
    row = (await rows(store))["ban@example.org"]
    assert (row.status, row.attempts) == ("queued", 0)
    assert await refcount(store, row.blob_hash) == 1


async def test_two_workers_send_each_row_once(store, settings, remote, clock, notices) -> None:
    mx, controller = remote
    config = outbound_settings(settings, controller.port)
    for n in range(12):
        await queue(store, [f"r{n}@example.org", f"s{n}@example.net"], subject=f"Thư {n}")
    workers = [OutboundQueue(store, config, resolver(), clock=clock, send_notice=notices) for _ in range(2)]
    counts = await asyncio.gather(*(w.run_once() for w in workers))
    assert sum(counts) == 24
    sent = sorted(r for a in mx.arrivals for r in a.rcpt_tos)
    assert sent == sorted([f"r{n}@example.org" for n in range(12)] + [f"s{n}@example.net" for n in range(12)])


async def test_a_bad_row_does_not_stop_the_others(store, worker, mx, caplog) -> None:
    await queue(store, ["ban@example.org"], subject="Hỏng")
    broken = (await rows(store))["ban@example.org"]
    os.remove(store.blobs.path(broken.blob_hash))  # the body is gone: reading it raises
    await queue(store, ["khac@example.org"], subject="Lành")
    assert await worker.run_once() == 2
    state = await rows(store)
    assert state["khac@example.org"].status == "delivered"
    bad = state["ban@example.org"]
    assert (bad.status, bad.attempts) == ("queued", 1)
    assert bad.last_error.startswith("4.3.0 internal error (incident ")
    incident = bad.last_error.rsplit(" ", 1)[1].rstrip(")")
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)


async def test_run_sleeps_until_a_row_can_next_be_taken(store, worker, clock) -> None:
    assert await worker._seconds_to_next() == IDLE_SECONDS  # an empty queue: look again in a while
    await queue(store, ["ban@example.org"])
    soon = clock.now + dt.timedelta(seconds=12)
    async with store.db.write() as conn:
        await conn.execute(sa.update(queue_item).values(next_attempt_at=soon))
    assert await worker._seconds_to_next() == 12.0
    async with store.db.write() as conn:  # leased past its due time: it can be taken when the lease ends
        await conn.execute(sa.update(queue_item).values(lease_until=soon + dt.timedelta(seconds=8)))
    assert await worker._seconds_to_next() == 20.0
    clock.advance(hours=1)
    assert await worker._seconds_to_next() == MIN_PAUSE_SECONDS


async def test_run_delivers_when_woken_and_stops_when_cancelled(store, worker, mx) -> None:
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0)
        await queue(store, ["ban@example.org"])
        worker.wake()
        for _ in range(200):  # at most two seconds
            if mx.arrivals:
                break
            await asyncio.sleep(0.01)
        assert [a.rcpt_tos for a in mx.arrivals] == [["ban@example.org"]]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# --- the command line ------------------------------------------------------------------------------------


@pytest.fixture
def cli(settings: Settings, monkeypatch) -> Iterator[CliRunner]:
    (settings.data_dir / "hopthu.toml").write_text(sample_config(settings), encoding="utf-8")
    monkeypatch.setattr(State, "data_dir", settings.data_dir)
    yield CliRunner()


async def _seed(settings: Settings) -> None:
    store = await Store.open(settings)
    try:
        await queue(store, ["a@example.org", "b@example.org"])
        async with store.db.write() as conn:
            await conn.execute(
                sa.update(queue_item)
                .where(queue_item.c.recipient == "b@example.org")
                .values(next_attempt_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
            )
    finally:
        await store.close()


async def _state(settings: Settings) -> tuple[dict[str, sa.Row], int, list[sa.Row]]:
    store = await Store.open(settings)
    try:
        state = await rows(store)
        async with store.db.read() as conn:
            events = (await conn.execute(sa.select(audit_event))).all()
        return state, await refcount(store, state["a@example.org"].blob_hash), events
    finally:
        await store.close()


def test_cli_lists_retries_and_deletes(settings: Settings, cli: CliRunner) -> None:
    asyncio.run(_seed(settings))

    listed = cli.invoke(queue_cli.app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.stdout)
    assert [(e["recipient"], e["status"]) for e in entries] == [
        ("a@example.org", "queued"),
        ("b@example.org", "queued"),
    ]
    table = cli.invoke(queue_cli.app, ["list", "--status", "all"])
    assert table.exit_code == 0 and "Số thư / entries: 2" in table.stdout

    later = next(e for e in entries if e["recipient"] == "b@example.org")
    retried = cli.invoke(queue_cli.app, ["retry", str(later["id"]), "--json"])
    assert json.loads(retried.stdout) == {"retried": 1}
    state, _, _ = asyncio.run(_state(settings))
    assert state["b@example.org"].next_attempt_at < dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert json.loads(cli.invoke(queue_cli.app, ["retry", "--all", "--json"]).stdout) == {"retried": 2}
    assert cli.invoke(queue_cli.app, ["retry"]).exit_code != 0  # an ID or --all is needed

    first = entries[0]["id"]
    deleted = cli.invoke(queue_cli.app, ["delete", str(first), "--reason", "Người gửi yêu cầu hủy", "--json"])
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout)["status"] == "deleted"
    state, count, events = asyncio.run(_state(settings))
    assert state["a@example.org"].status == "deleted" and state["a@example.org"].finished_at is not None
    assert count == 1  # only b's row holds the body now
    [event] = events
    assert (event.action, event.target, event.reason) == (
        "queue.deleted",
        f"queue:{first}",
        "Người gửi yêu cầu hủy",
    )
    assert event.actor.startswith("cli")

    again = cli.invoke(queue_cli.app, ["delete", str(first), "--reason", "lần nữa"])
    assert again.exit_code != 0  # finished rows are not deleted twice
    deleted_only = json.loads(cli.invoke(queue_cli.app, ["list", "--status", "deleted", "--json"]).stdout)
    assert [e["id"] for e in deleted_only] == [first]
    assert cli.invoke(queue_cli.app, ["list", "--status", "lost"]).exit_code != 0


# --- delivery status notifications -------------------------------------------------------------------------

ORIGINAL = (
    "From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBNaW5o?= <nvminh@cantho.gov.vn>\r\n"
    "To: ban@example.org\r\n"
    "Subject: Báo cáo tháng 3\r\n"
    "Message-ID: <42@cantho.gov.vn>\r\n\r\n"
).encode()
NOW = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def dsn(*recipients: DsnRecipient, **options) -> bytes:
    return build_dsn(
        original_headers=ORIGINAL,
        sender=SENDER,
        recipients=list(recipients),
        reporting_mta="mail.cantho.gov.vn",
        now=NOW,
        message_id_domain="cantho.gov.vn",
        **options,
    )


def test_dsn_parses_with_our_parser_and_the_standard_library() -> None:
    notice = dsn(
        DsnRecipient("ban@example.org", "5.1.1", "550 5.1.1 No such user", "failed", "mx.example.org"),
        DsnRecipient("khac@example.org", "4.4.1", "connection refused", "delayed"),
        arrival_date=NOW,
        retry_until=NOW + dt.timedelta(hours=120),
    )
    assert canonical(notice) == notice  # CRLF throughout: stored and sent as is

    ours = parse(notice)
    assert ours.subject == "Thư không gửi được / Undelivered mail"
    assert ours.from_ == "Hệ thống thư điện tử / Mail system <MAILER-DAEMON@cantho.gov.vn>"
    structure = ours.structure
    assert (structure["type"].lower(), structure["subtype"].lower()) == ("multipart", "report")
    assert [p["subtype"].lower() for p in structure["parts"]] == [
        "plain",
        "delivery-status",
        "rfc822-headers",
    ]

    message, (failed, delayed) = report(notice)
    assert message["To"].addresses[0].addr_spec == SENDER
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-ID"].endswith("@cantho.gov.vn>")
    status = message.get_payload()[1].get_payload()[0]
    assert status["Reporting-MTA"] == "dns; mail.cantho.gov.vn"
    assert status["Arrival-Date"] == "Mon, 02 Mar 2026 08:30:00 +0000"
    assert dict(failed) == {
        "Final-Recipient": "rfc822; ban@example.org",
        "Action": "failed",
        "Status": "5.1.1",
        "Remote-MTA": "dns; mx.example.org",
        "Diagnostic-Code": "smtp; 550 5.1.1 No such user",
        "Last-Attempt-Date": "Mon, 02 Mar 2026 08:30:00 +0000",
    }
    assert (delayed["Action"], delayed["Status"]) == ("delayed", "4.4.1")
    assert delayed["Will-Retry-Until"] == "Sat, 07 Mar 2026 08:30:00 +0000"
    assert delayed["Remote-MTA"] is None and delayed["X-HopThu-Diagnostic"] == "connection refused"
    original = message.get_payload()[2].get_payload(decode=True)
    assert original == ORIGINAL[:-2]


def test_dsn_explains_in_vietnamese_then_english() -> None:
    notice = dsn(
        DsnRecipient("ban@example.org", "5.2.2", "552 5.2.2 Mailbox full", "failed", "mx.example.org"),
        arrival_date=NOW,
    )
    text = email.message_from_bytes(notice, policy=email.policy.default).get_body(("plain",)).get_content()
    vietnamese, english = text.index("THƯ KHÔNG GỬI ĐƯỢC"), text.index("UNDELIVERED MAIL")
    assert vietnamese < english
    assert 'Thư "Báo cáo tháng 3" gửi lúc 15:30 ngày 02/03/2026 (giờ Việt Nam)' in text
    assert "hộp thư người nhận đã đầy (mã 5.2.2)" in text
    assert "the recipient's mailbox is full (code 5.2.2)" in text
    assert "hotro@cantho.gov.vn" in text
    assert "mx.example.org: 552 5.2.2 Mailbox full" in text  # the technical details, for the helpdesk


def test_dsn_field_values_are_single_ascii_lines() -> None:
    notice = dsn(
        DsnRecipient(
            "nguyễn@example.org", "5.1.1", "550-5.1.1 Không có\n550 5.1.1 người này", "failed", "mx"
        ),
    )
    _, [block] = report(notice)
    assert block["Final-Recipient"] == "utf-8; nguy\\x{1EC5}n@example.org"  # RFC 6533 §3
    assert block["Diagnostic-Code"] == "smtp; 550-5.1.1 Kh?ng c? 550 5.1.1 ng??i n?y"


def test_dsn_needs_a_recipient() -> None:
    with pytest.raises(ValueError):
        dsn()


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("5.1.1", "địa chỉ người nhận không tồn tại"),
        ("5.1.10", "tên miền của người nhận không nhận thư điện tử"),
        ("4.4.7", "không kết nối được máy chủ thư bên nhận"),
        ("5.7.26", "máy chủ bên nhận từ chối thư vì lý do an ninh hoặc chống thư rác"),
        ("5.9.9", "máy chủ bên nhận không nhận thư"),
    ],
)
def test_status_codes_in_words(status: str, words: str) -> None:
    assert meaning(status)[0] == words


@pytest.mark.parametrize(
    ("code", "message", "kind", "status"),
    [
        (250, "2.0.0 Ok: queued as 12345", "delivered", "2.0.0"),
        (550, "5.1.1 No such user", "failed", "5.1.1"),
        (550, "No such user", "failed", "5.0.0"),
        (451, "4.7.1 Greylisted, try again", "retry", "4.7.1"),
        (452, "5.2.2 mismatched class", "retry", "4.0.0"),
        (-1, "Malformed reply", "retry", "4.5.0"),
    ],
)
def test_replies_become_outcomes(code: int, message: str, kind: str, status: str) -> None:
    outcome = from_reply(code, message, "mx.example.org")
    assert (outcome.kind, outcome.status, outcome.remote_mta) == (kind, status, "mx.example.org")
