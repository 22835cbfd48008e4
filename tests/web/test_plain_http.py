"""The plain HTTP listener's rules (`web.plainhttp`) with the app behind it replaced by one that
echoes what it was given: who is redirected to HTTPS and where, who is answered, and the scheme the
app sees behind a trusted proxy. The real listeners are tested in tests/security/test_tls_listeners.py."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from hopthu.config import ServerSettings, Settings, load_settings
from hopthu.errors import HopThuError
from hopthu.server import listener_sockets, with_ports
from hopthu.web.plainhttp import PlainHttp, split_host

HTTPS_PORT = 8443


async def echo(scope, receive, send) -> None:
    body = f"{scope['scheme']} {scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def client(
    peer: str = "192.0.2.7", https_port: int | None = HTTPS_PORT, **server: object
) -> httpx.AsyncClient:
    """A client reaching the plain listener from `peer`, with these `[server]` settings."""
    settings = Settings(server=dataclasses.replace(ServerSettings(), **server))
    transport = httpx.ASGITransport(app=PlainHttp(echo, settings, https_port), client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://mail.cantho.gov.vn")


async def test_a_page_is_a_permanent_redirect_to_the_same_address_over_https() -> None:
    async with client() as web:
        answer = await web.get("/thu/INBOX?trang=2&q=a%20b")
        assert answer.status_code == 308
        assert answer.headers["location"] == "https://mail.cantho.gov.vn/thu/INBOX?trang=2&q=a%20b"
        assert "HTTPS" in answer.text
        posted = await web.post("/dang-nhap", data={"login": "x"})  # 308 keeps the method and body
        assert (
            posted.status_code == 308 and posted.headers["location"] == "https://mail.cantho.gov.vn/dang-nhap"
        )


async def test_a_port_the_client_named_becomes_the_https_listeners() -> None:
    async with client() as web:
        answer = await web.get("http://127.0.0.1:8080/dang-nhap")
        assert answer.headers["location"] == "https://127.0.0.1:8443/dang-nhap"
        v6 = await web.get("/", headers={"host": "[::1]:8080"})
        assert v6.headers["location"] == "https://[::1]:8443/"
    async with client(https_port=443) as web:
        answer = await web.get("http://mail.cantho.gov.vn:80/")
        assert answer.headers["location"] == "https://mail.cantho.gov.vn/"


async def test_a_host_header_that_is_no_host_name_gives_the_public_address() -> None:
    async with client(web_url="https://mail.cantho.gov.vn") as web:
        for host in ("evil.example/x", "a b", "mail.cantho.gov.vn:80x", "@evil", ""):
            answer = await web.get("/thu", headers={"host": host})
            assert answer.headers["location"] == "https://mail.cantho.gov.vn/thu", host


async def test_healthz_is_answered_for_monitoring() -> None:
    async with client() as web:
        answer = await web.get("/healthz")
        assert answer.status_code == 200 and answer.text == "http /healthz"


async def test_loopback_clients_are_answered_unless_the_setting_says_no() -> None:
    for peer in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"):
        async with client(peer=peer) as web:
            assert (await web.get("/thu")).status_code == 200, peer
    async with client(peer="127.0.0.1", allow_plain_http_on_loopback=False) as web:
        assert (await web.get("/thu")).status_code == 308


async def test_without_https_nothing_is_redirected() -> None:
    async with client(https_port=None) as web:
        answer = await web.get("/thu")
        assert answer.status_code == 200 and answer.text == "http /thu"


@pytest.mark.parametrize(
    ("header", "said", "expected"),
    [
        ("x-forwarded-for", {"x-forwarded-proto": "https"}, 200),
        ("x-forwarded-for", {"x-forwarded-proto": "HTTPS, http"}, 200),  # the client-facing proxy's
        ("x-forwarded-for", {"x-forwarded-proto": "http"}, 308),
        ("x-forwarded-for", {}, 308),
        ("x-forwarded-for", {"forwarded": "for=192.0.2.1;proto=https"}, 308),  # not the header configured
        ("forwarded", {"forwarded": 'for="192.0.2.1";proto=https, for=10.0.0.5'}, 200),
        ("forwarded", {"x-forwarded-proto": "https"}, 308),
    ],
)
async def test_a_trusted_proxy_names_the_scheme_the_client_used(
    header: str, said: dict[str, str], expected: int
) -> None:
    proxied = {"trusted_proxies": ("10.0.0.0/8",), "forwarded_header": header}
    async with client(peer="10.1.2.3", **proxied) as web:
        answer = await web.get("/thu", headers=said)
        assert answer.status_code == expected
        if expected == 200:
            assert answer.text == "https /thu"  # what the app sees: cookies, redirects, Received


async def test_an_untrusted_peer_cannot_claim_https_and_a_trusted_loopback_proxy_is_not_local() -> None:
    async with client(peer="192.0.2.7", trusted_proxies=("10.0.0.0/8",)) as web:
        assert (await web.get("/thu", headers={"x-forwarded-proto": "https"})).status_code == 308
    async with client(peer="127.0.0.1", trusted_proxies=("127.0.0.1/32",)) as web:
        assert (await web.get("/thu")).status_code == 308  # a client of the proxy, over http
        forwarded = await web.get("/thu", headers={"x-forwarded-proto": "https"})
        assert forwarded.status_code == 200 and forwarded.text == "https /thu"


def test_host_headers() -> None:
    assert split_host("mail.cantho.gov.vn") == ("mail.cantho.gov.vn", "")
    assert split_host("mail.cantho.gov.vn:8080") == ("mail.cantho.gov.vn", "8080")
    assert split_host("[2001:db8::1]:80") == ("[2001:db8::1]", "80")
    for bad in ("[::1]x", "a/b", "x:y", "a..b" * 100, "-"):
        assert split_host(bad) is None, bad


def test_the_web_ports_settings(tmp_path) -> None:
    assert load_settings(tmp_path, {}).server.https_port == 8443
    off = load_settings(tmp_path, {"HOPTHU_SERVER_HTTPS_PORT": "-1"})
    assert off.server.https_port == -1 and "https" not in listener_roles(off)
    with pytest.raises(HopThuError) as raised:
        load_settings(tmp_path, {"HOPTHU_SERVER_HTTPS_PORT": "-1", "HOPTHU_SERVER_HTTP_PORT": "-1"})
    assert "server.https_port" in raised.value.vi and "one of the two" in raised.value.en
    with pytest.raises(HopThuError) as raised:
        load_settings(tmp_path, {"HOPTHU_SERVER_HTTPS_PORT": "70000"})
    assert "-1 (tắt / off) hoặc / or 0-65535" in raised.value.vi


def listener_roles(settings: Settings) -> set[str]:
    """The roles `hopthu serve` would listen for, every port moved to 0 (a free one)."""
    ports = {"http_port": 0, "mx_port": 0, "submission_port": 0, "submissions_port": 0}
    ports |= {"imap_port": 0, "imaps_port": 0, "pop3_port": 0, "pop3s_port": 0}
    if settings.server.https_port >= 0:
        ports["https_port"] = 0
    sockets = listener_sockets(with_ports(settings, **ports))
    for sock in sockets.values():
        sock.close()
    return set(sockets)
