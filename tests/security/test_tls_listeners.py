"""TLS on every listener (R13.5) and the certificate renewed without a restart (`security.tls`).

`openssl s_client` checks the certificate each listener serves, implicit TLS and STARTTLS (SMTP,
IMAP, POP3); httpx fetches over HTTPS and sees the plain port's redirect. After a reload, new
handshakes get the new certificate while connections opened before keep working; a pair that cannot
be used leaves the old one in place. A real `hopthu serve` renewing on SIGHUP is in
tests/cli/test_serve_tls.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import imaplib
import logging
import os
import poplib
import re
import smtplib
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from hopthu.config import Settings
from hopthu.errors import HopThuError
from hopthu.security.certs import make_self_signed
from hopthu.server import Server
from tests.imap.conftest import RunningServer, running_server
from tests.smtp.conftest import PASSWORD, insecure_tls, resolver, server_settings  # noqa: F401

# listener role -> the `-starttls` protocol of `openssl s_client`, None for TLS from the first byte
LISTENERS = {
    "smtp": "smtp",
    "submission": "smtp",
    "submissions": None,
    "imap": "imap",
    "imaps": None,
    "pop3": "pop3",
    "pop3s": None,
    "https": None,
}
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def served(port: int, starttls: str | None = None) -> x509.Certificate:
    """The certificate a listener presents, as `openssl s_client` sees it."""
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "mail.cantho.gov.vn"]
    if starttls:
        command += ["-starttls", starttls]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    found = _PEM.search(done.stdout)
    assert found, f"no certificate from port {port} ({starttls}): {done.stdout[-500:]} {done.stderr[-500:]}"
    return x509.load_pem_x509_certificate(found.group(0).encode())


def renew(settings: Settings, name: str) -> x509.Certificate:
    """A new key and certificate for `name` written over the configured files; the certificate."""
    cert, key = settings.path(settings.server.tls_cert), settings.path(settings.server.tls_key)
    make_self_signed(cert, key, [name])
    return x509.load_pem_x509_certificate(cert.read_bytes())


def common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


def reload(server: RunningServer) -> bool:
    return server.run(server.server.reload_certificate())


@pytest.fixture
def tls_server(server_settings: Settings, resolver) -> Iterator[RunningServer]:  # noqa: F811
    """Every listener on a free port; plain HTTP redirects even loopback clients (as any other)."""
    renew(server_settings, "first.cantho.gov.vn")
    chosen = dataclasses.replace(
        server_settings,
        server=dataclasses.replace(server_settings.server, allow_plain_http_on_loopback=False),
    )
    with running_server(chosen, resolver) as running:
        yield running


def test_every_tls_listener_serves_the_certificate_and_a_reload_reaches_them_all(
    tls_server: RunningServer,
) -> None:
    settings = tls_server.server.settings
    for role, starttls in LISTENERS.items():
        assert common_name(served(tls_server.port(role), starttls)) == "first.cantho.gov.vn", role

    renewed = renew(settings, "second.cantho.gov.vn")
    # the files alone change nothing: the process reads them when told to
    assert common_name(served(tls_server.port("imaps"))) == "first.cantho.gov.vn"
    assert reload(tls_server)
    for role, starttls in LISTENERS.items():
        now = served(tls_server.port(role), starttls)
        assert now.serial_number == renewed.serial_number, role
        assert common_name(now) == "second.cantho.gov.vn", role


def test_https_is_the_web_and_plain_http_redirects_to_it(tls_server: RunningServer) -> None:
    cert = tls_server.server.settings.path(tls_server.server.settings.server.tls_cert)
    https, plain = tls_server.port("https"), tls_server.port("http")
    trusting = ssl.create_default_context(cafile=str(cert))  # the certificate names 127.0.0.1
    with httpx.Client(verify=trusting, timeout=30) as web:
        health = web.get(f"https://127.0.0.1:{https}/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        page = web.get(f"https://127.0.0.1:{https}/dang-nhap")
        assert page.status_code == 200 and "Đăng nhập" in page.text
        assert page.headers["strict-transport-security"].startswith("max-age=")

        moved = web.get(f"http://127.0.0.1:{plain}/dang-nhap?lang=en")
        assert moved.status_code == 308
        assert moved.headers["location"] == f"https://127.0.0.1:{https}/dang-nhap?lang=en"
        followed = web.get(f"http://127.0.0.1:{plain}/dang-nhap", follow_redirects=True)
        assert followed.status_code == 200 and str(followed.url).startswith("https://")
        # load balancers check the plain port
        assert web.get(f"http://127.0.0.1:{plain}/healthz").json()["status"] == "ok"


def test_connections_opened_before_a_reload_keep_working(tls_server: RunningServer) -> None:
    settings = tls_server.server.settings
    imap = imaplib.IMAP4_SSL("127.0.0.1", tls_server.port("imaps"), ssl_context=insecure_tls(), timeout=30)
    imap.login("nvminh", PASSWORD)
    imap_starttls = tls_server.connect(tls="starttls")
    imap_starttls.login("nvminh", PASSWORD)
    pop = poplib.POP3_SSL("127.0.0.1", tls_server.port("pop3s"), context=insecure_tls(), timeout=30)
    pop.user("nvminh")
    pop.pass_(PASSWORD)
    submission = smtplib.SMTP("127.0.0.1", tls_server.port("submission"), timeout=30)
    submission.starttls(context=insecure_tls())
    submission.login("nvminh", PASSWORD)
    web = http.client.HTTPSConnection(
        "127.0.0.1", tls_server.port("https"), context=insecure_tls(), timeout=30
    )
    web.request("GET", "/healthz")
    assert web.getresponse().read()
    before = web.sock.getpeercert(binary_form=True)
    try:
        renewed = renew(settings, "second.cantho.gov.vn")
        assert reload(tls_server)
        assert imap.noop()[0] == "OK" and imap.select("INBOX")[0] == "OK"
        assert imap_starttls.noop()[0] == "OK"
        assert pop.noop().startswith(b"+OK")
        assert submission.noop()[0] == 250
        web.request("GET", "/healthz")  # the same kept-alive TLS connection
        assert web.getresponse().status == 200 and web.sock.getpeercert(binary_form=True) == before
        assert served(tls_server.port("imaps")).serial_number == renewed.serial_number
    finally:
        imap.logout()
        imap_starttls.logout()
        pop.quit()
        submission.quit()
        web.close()


@pytest.mark.parametrize("broken", ["key-mismatch", "missing-key", "not-pem", "empty-certificate"])
def test_a_certificate_that_cannot_be_used_keeps_the_old_one(
    tls_server: RunningServer, broken: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    settings = tls_server.server.settings
    cert, key = settings.path(settings.server.tls_cert), settings.path(settings.server.tls_key)
    if broken == "key-mismatch":  # a renewed certificate installed before its key
        old_key = key.read_bytes()
        renew(settings, "second.cantho.gov.vn")
        key.write_bytes(old_key)
    elif broken == "missing-key":
        key.unlink()
    elif broken == "not-pem":
        cert.write_bytes(b"this is not a certificate\n")
    else:
        cert.write_bytes(b"")
    with caplog.at_level(logging.ERROR, logger="hopthu.tls"):
        assert not reload(tls_server)
    logged = caplog.text
    assert "vẫn dùng chứng chỉ cũ" in logged and "the certificate in use stays" in logged, logged
    if broken == "key-mismatch":
        assert "khóa không khớp" in logged and "does not match" in logged
    if broken == "missing-key":
        assert "không có tệp" in logged and "no such file" in logged and str(key) in logged
    if broken in ("not-pem", "empty-certificate"):
        assert "không chứa chứng chỉ PEM" in logged and "holds no PEM certificate" in logged
    for role in ("imaps", "submission", "https"):
        assert common_name(served(tls_server.port(role), LISTENERS[role])) == "first.cantho.gov.vn", role
    with imaplib.IMAP4_SSL(
        "127.0.0.1", tls_server.port("imaps"), ssl_context=insecure_tls(), timeout=30
    ) as client:  # the listener still serves
        assert client.login("nvminh", PASSWORD)[0] == "OK"
    # the operator puts a good pair in place and reloads again
    good = renew(settings, "third.cantho.gov.vn")
    assert reload(tls_server)
    assert served(tls_server.port("imaps")).serial_number == good.serial_number


def test_reloads_under_load_lose_no_connection(tls_server: RunningServer) -> None:
    """Clients doing NOOPs on open connections (and new connections made meanwhile) while the
    certificate is reloaded again and again: every command is answered, every handshake completes."""
    settings = tls_server.server.settings
    rounds, clients = 30, 6
    failures: list[str] = []
    seen: set[str] = set()
    seen_lock = threading.Lock()
    reloading = threading.Event()

    def busy(number: int) -> None:
        try:
            client = tls_server.connect(tls="implicit" if number % 2 else "starttls")
            client.login("nvminh", PASSWORD)
            reloading.wait(timeout=60)
            for _ in range(rounds):
                if client.noop()[0] != "OK":
                    failures.append(f"client {number}: NOOP refused")
            client.logout()
        except Exception as error:  # recorded for the assertion below, with the client's number
            failures.append(f"client {number}: {error!r}")

    def newcomer() -> None:
        try:
            for _ in range(rounds // 3):
                with imaplib.IMAP4_SSL(
                    "127.0.0.1", tls_server.port("imaps"), ssl_context=insecure_tls(), timeout=30
                ) as client:
                    der = client.sock.getpeercert(binary_form=True)
                    name = common_name(x509.load_der_x509_certificate(der))
                    with seen_lock:
                        seen.add(name)
                    client.noop()
        except Exception as error:
            failures.append(f"newcomer: {error!r}")

    threads = [threading.Thread(target=busy, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=newcomer))
    for thread in threads:
        thread.start()
    names = ["second.cantho.gov.vn", "third.cantho.gov.vn"]
    reloads = 0
    while reloads < 2 or (reloads < 100 and any(thread.is_alive() for thread in threads)):
        renew(settings, names[reloads % 2])
        assert reload(tls_server)
        reloads += 1
        reloading.set()  # the clients' NOOPs begin after the first reload and run beside the others
    renew(settings, "third.cantho.gov.vn")
    assert reload(tls_server)
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert seen  # the newcomers completed handshakes throughout
    assert common_name(served(tls_server.port("imaps"))) == "third.cantho.gov.vn"


def test_a_start_with_an_unusable_certificate_is_a_clear_error(server_settings: Settings, resolver) -> None:  # noqa: F811
    key = server_settings.path(server_settings.server.tls_key)
    os.unlink(key)
    server = Server(server_settings, resolver=resolver)
    with pytest.raises(HopThuError) as raised:
        asyncio.run(server.start())
    assert "Không dùng được chứng chỉ TLS" in raised.value.vi and str(key) in raised.value.en
