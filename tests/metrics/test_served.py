"""`/metrics` scraped over HTTP from a running server while mail flows: smtplib to the MX and to
submission, imaplib and poplib signing in (once with a wrong password), a page of the web. Every
counter must move by exactly what the clients did, and the gauges must hold sane values."""

from __future__ import annotations

import asyncio
import dataclasses
import imaplib
import poplib
import smtplib
import socket
import time
import urllib.request
from collections.abc import Callable

import pytest
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from hopthu.config import Settings
from hopthu.smtp.dns import StaticResolver
from hopthu.workers import WORKER_NUMBER
from tests.smtp.conftest import PASSWORD, MailServer, call, insecure_tls, message

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """Sizes measured at most once a second, so the second scrape sees the mail the test sent."""
    metrics = dataclasses.replace(server_settings.metrics, slow_seconds=1.0)
    return dataclasses.replace(server_settings, metrics=metrics)


def scrape(server: MailServer) -> Samples:
    """One scrape over HTTP, parsed by Prometheus's own parser: (name, labels) -> value."""
    url = server.server.urls()["metrics"]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def moved(before: Samples, after: Samples) -> Callable[..., float]:
    return lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)


def send_mx(server: MailServer, recipients: list[str]) -> None:
    with server.client("smtp") as client:  # EHLO, MAIL, RCPT per recipient, DATA, QUIT
        client.sendmail("ban@example.org", recipients, message(to=", ".join(recipients)))


def submit(server: MailServer, sender: str, recipient: str, author: str = "") -> None:
    with server.signed_in() as client:
        client.sendmail(sender, [recipient], message(sender=author or sender, to=recipient))


def imap_sessions(server: MailServer) -> None:
    good = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=insecure_tls(), timeout=30)
    good.login("nvminh", PASSWORD)  # CAPABILITY (on connecting), LOGIN
    good.select("INBOX")
    good.logout()
    bad = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=insecure_tls(), timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        bad.login("ttnanh", "not-the-password")
    bad.logout()


def pop3_session(server: MailServer) -> None:
    client = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=insecure_tls(), timeout=30)
    client.user("nvminh")
    client.pass_(PASSWORD)
    client.stat()
    client.quit()


def web_page(server: MailServer) -> None:
    with urllib.request.urlopen(server.server.urls()["http"] + "healthz", timeout=10) as response:
        response.read()


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.05)


async def test_counters_move_by_what_the_clients_did(mailserver: MailServer) -> None:
    before = await call(scrape, mailserver)
    await call(send_mx, mailserver, ["nvminh@cantho.gov.vn"])
    await call(send_mx, mailserver, ["nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn"])
    await call(submit, mailserver, "nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn")
    # leaves: queued, then bounced (example.net has no MX in this DNS), its notice stored for nvminh
    await call(submit, mailserver, "nvminh@cantho.gov.vn", "ai.do@example.net")
    with pytest.raises(smtplib.SMTPDataError):  # R3.2: From: is not his address, refused at DATA
        await call(submit, mailserver, "nvminh@cantho.gov.vn", "ban@example.org", "ttnanh@cantho.gov.vn")
    await call(imap_sessions, mailserver)
    await call(pop3_session, mailserver)
    await call(web_page, mailserver)
    connections = mailserver.services.connections
    await until(lambda: all(limits.total == 0 for limits in connections.values()))
    await until(
        lambda: value(_last(mailserver), "hopthu_messages_total", channel="system", outcome="accepted") > 0
    )
    await asyncio.sleep(1.1)  # past `slow_seconds`: the sizes are measured again
    after = await call(scrape, mailserver)
    delta = moved(before, after)

    assert delta("hopthu_messages_total", channel="mx", outcome="accepted") == 2
    assert delta("hopthu_messages_total", channel="submission", outcome="accepted") == 2
    assert delta("hopthu_messages_total", channel="submission", outcome="refused") == 1
    assert delta("hopthu_refusals_total", reason="sender_not_allowed") == 1
    assert sum(delta("hopthu_refusals_total", reason=r) for r in _reasons(after)) == 1
    assert delta("hopthu_messages_total", channel="system", outcome="accepted") == 1  # the bounce
    # MX 1 + 2, submission 1, the bounce notice 1; per recipient
    assert delta("hopthu_deliveries_total", destination="local", result="stored") == 5
    assert delta("hopthu_deliveries_total", destination="local", result="refused") == 0
    assert delta("hopthu_deliveries_total", destination="remote", result="queued") == 1
    assert delta("hopthu_deliveries_total", destination="remote", result="bounced") == 1
    assert delta("hopthu_deliveries_total", destination="remote", result="sent") == 0
    assert delta("hopthu_delivery_latency_seconds_count", destination="local") == 4  # per message
    assert 0 < delta("hopthu_delivery_latency_seconds_sum", destination="local") < 30

    assert delta("hopthu_signins_total", protocol="submission", result="success") == 3
    assert delta("hopthu_signins_total", protocol="imap", result="success") == 1
    assert delta("hopthu_signins_total", protocol="imap", result="bad_credentials") == 1
    assert delta("hopthu_signins_total", protocol="pop3", result="success") == 1
    assert delta("hopthu_signins_total", protocol="web", result="success") == 0

    assert delta("hopthu_connections_total", protocol="smtp") == 2
    assert delta("hopthu_connections_total", protocol="submission") == 3
    assert delta("hopthu_connections_total", protocol="imap") == 2
    assert delta("hopthu_connections_total", protocol="pop3") == 1
    assert delta("hopthu_connections_total", protocol="web") == 1
    for protocol in ("smtp", "submission", "imap", "pop3", "web"):
        assert value(after, "hopthu_connections_open", protocol=protocol) == 0
        assert delta("hopthu_connections_refused_total", protocol=protocol) == 0
    # EHLO MAIL RCPT DATA QUIT, and one RCPT more for the second message
    assert delta("hopthu_commands_total", protocol="smtp") == 11
    # CAPABILITY LOGIN SELECT LOGOUT, then CAPABILITY LOGIN (refused) LOGOUT
    assert delta("hopthu_commands_total", protocol="imap") == 7
    assert delta("hopthu_commands_total", protocol="pop3") == 4  # USER PASS STAT QUIT
    assert delta("hopthu_commands_total", protocol="web") == 1
    # EHLO (STARTTLS is not counted) EHLO AUTH MAIL RCPT DATA QUIT, three times; RSET after the refusal
    assert delta("hopthu_commands_total", protocol="submission") == 22

    # gauges
    assert value(after, "hopthu_store_up") == 1
    assert value(after, "hopthu_queue_messages") == 0  # the one remote recipient bounced
    assert value(after, "hopthu_queue_oldest_age_seconds") == 0
    assert 0 <= value(after, "hopthu_database_pool_checked_out") <= value(after, "hopthu_database_pool_size")
    assert value(after, "hopthu_database_pool_size") > 0
    assert (
        0
        <= value(after, "hopthu_event_loop_stall_seconds")
        <= value(after, "hopthu_event_loop_stall_max_seconds")
    )
    assert 0 < value(after, "hopthu_disk_free_bytes") <= value(after, "hopthu_disk_size_bytes")
    assert value(after, "hopthu_blob_bytes") > value(before, "hopthu_blob_bytes")
    assert value(after, "hopthu_database_bytes") > 0
    settings = mailserver.server.settings
    certificate = x509.load_pem_x509_certificate(settings.path(settings.server.tls_cert).read_bytes())
    expected = certificate.not_valid_after_utc.timestamp()
    assert value(after, "hopthu_tls_certificate_not_after_timestamp_seconds") == expected
    assert value(after, "process_resident_memory_bytes") > 0


async def test_jobs_runs_are_counted_by_name_and_status(mailserver: MailServer) -> None:
    before = await call(scrape, mailserver)
    scheduler = mailserver.services.scheduler
    assert scheduler is not None
    await scheduler.run("statistics")
    after = await call(scrape, mailserver)
    delta = moved(before, after)
    assert delta("hopthu_job_runs_total", job="statistics", status="ok") == 1
    assert delta("hopthu_job_runs_total", job="statistics", status="failed") == 0
    assert sum(delta("hopthu_job_runs_total", job=name, status="ok") for name in scheduler.jobs) == 1


def _last(server: MailServer) -> Samples:
    """What the server's registry holds now, without HTTP (for polling from the test's loop)."""
    from prometheus_client import generate_latest

    found: Samples = {}
    text = generate_latest(server.server.meters.registry).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _reasons(samples: Samples) -> list[str]:
    return [dict(labels)["reason"] for name, labels in samples if name == "hopthu_refusals_total"]


class TestDisabled:
    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        return dataclasses.replace(
            server_settings, metrics=dataclasses.replace(server_settings.metrics, listen="")
        )

    async def test_no_listener_when_listen_is_empty(self, mailserver: MailServer) -> None:
        assert "metrics" not in mailserver.server.urls()
        assert mailserver.server.metrics is None and mailserver.server.metrics_port is None


class TestWaitingQueue:
    """A remote server that does not answer: the item waits, and the queue's gauges say since when."""

    @pytest.fixture
    def resolver(self) -> StaticResolver:
        return StaticResolver(
            mx_records={"example.net": [(10, "mx.example.net")]},
            address_records={"mx.example.net": ["127.0.0.1"]},
        )

    @pytest.fixture
    def server_settings(self, server_settings: Settings) -> Settings:
        with socket.socket() as closed:  # a port nobody listens on: every attempt is refused, deferred
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        smtp = dataclasses.replace(server_settings.smtp, outbound_port=port)
        return dataclasses.replace(server_settings, smtp=smtp)

    async def test_a_deferred_item_is_counted_and_ages(self, mailserver: MailServer) -> None:
        before = await call(scrape, mailserver)
        await call(submit, mailserver, "nvminh@cantho.gov.vn", "ai.do@example.net")
        await until(
            lambda: (
                value(_last(mailserver), "hopthu_deliveries_total", destination="remote", result="deferred")
                > 0
            )
        )
        await asyncio.sleep(1.1)  # the queue's backlog is looked at once a second at most
        after = await call(scrape, mailserver)
        delta = moved(before, after)
        assert delta("hopthu_deliveries_total", destination="remote", result="queued") == 1
        assert delta("hopthu_deliveries_total", destination="remote", result="deferred") == 1
        assert delta("hopthu_deliveries_total", destination="remote", result="bounced") == 0
        assert delta("hopthu_delivery_latency_seconds_count", destination="remote") == 0  # none sent
        assert value(after, "hopthu_queue_messages") == 1
        assert 1 <= value(after, "hopthu_queue_oldest_age_seconds") < 60


def _two_free_ports() -> int:
    """A port p with p + 1 free as well (a few tries: other tests take ports meanwhile)."""
    for _ in range(50):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise AssertionError("no two free ports in a row")


class TestWorkerPort:
    """`hopthu serve --workers`: worker n serves /metrics on the configured port plus n."""

    @pytest.fixture
    def server_settings(self, server_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
        monkeypatch.setenv(WORKER_NUMBER, "1")
        metrics = dataclasses.replace(server_settings.metrics, listen=f"127.0.0.1:{_two_free_ports()}")
        return dataclasses.replace(server_settings, metrics=metrics)

    async def test_worker_one_listens_on_the_next_port(self, mailserver: MailServer) -> None:
        configured = int(mailserver.server.settings.metrics.listen.rsplit(":", 1)[1])
        assert mailserver.server.metrics_port == configured + 1
        assert value(await call(scrape, mailserver), "hopthu_store_up") == 1
