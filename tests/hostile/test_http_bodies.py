"""HTTP request bodies are bounded: a declared length over the limit is answered 413 before a byte of
the body is sent, a chunked body is cut off with 413 once it passes the limit, and honest pages keep
working. `/healthz` reports how long the event loop stalled in the last minute.

Before, the server waited for the whole declared body (the client below would time out) and read a
chunked body to its end whatever its size.
"""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.hostile.conftest import Served

LIMIT = 1024 * 1024


@pytest.fixture
def serve_env() -> dict[str, str]:
    return {"HOPTHU_LIMITS_MAX_REQUEST_BODY": str(LIMIT)}


def _response(sock: socket.socket) -> bytes:
    """What the server answers, up to its close (it closes after a 413: the rest is never read)."""
    sock.settimeout(10)
    received = b""
    try:
        while piece := sock.recv(65536):
            received += piece
    except ConnectionResetError:
        pass
    return received


def test_a_declared_length_over_the_limit_is_refused_before_the_body(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port("http")), timeout=10) as sock:
        sock.sendall(
            b"POST /dang-nhap HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000000000\r\n\r\n"
        )
        answer = _response(sock)  # not one byte of the 50 GB sent
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert "quá lớn".encode() in answer and b"too large" in answer
    assert _honest_page(served)


FORM = ("application/x-www-form-urlencoded", b"dia_chi=", b"x")
UPLOAD = (
    "multipart/form-data; boundary=xyz",
    b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n",
    b"%PDF",
)


@pytest.mark.parametrize("body", [FORM, UPLOAD], ids=["form", "upload"])
def test_a_chunked_body_over_the_limit_is_cut_off_with_413(
    served: Served, body: tuple[str, bytes, bytes]
) -> None:
    kind, start, filler = body
    chunk = filler * (65536 // len(filler))
    sent = 0
    with socket.create_connection(("127.0.0.1", served.port("http")), timeout=10) as sock:
        sock.sendall(
            b"POST /dang-nhap HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            + f"Content-Type: {kind}\r\n\r\n".encode()
            + b"%x\r\n%s\r\n" % (len(start), start)
        )
        try:
            while sent < 20 * LIMIT:  # at most 20 MB; the server stops reading long before
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _response(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < 20 * LIMIT  # the server closed the connection instead of reading everything
    assert _honest_page(served)


def test_healthz_reports_the_event_loop_stall(served: Served) -> None:
    report = served.healthz()
    assert report["status"] == "ok" and "store" in report and "version" in report
    loop = report["loop"]
    assert loop["status"] in ("ok", "slow")
    assert 0 <= loop["max_stall_ms_last_minute"] < 60_000
    assert loop["warning_ms"] > 0


def _honest_page(served: Served) -> bool:
    """The sign-in page is served, and a sign-in form posted to it is read and answered."""
    with urllib.request.urlopen(served.http + "/dang-nhap", timeout=10) as response:
        if response.status != 200 or b"<form" not in response.read():
            return False
    request = urllib.request.Request(
        served.http + "/dang-nhap",
        data=b"dia_chi=ai&mat_khau=sai",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status not in (413, 500, 503)
