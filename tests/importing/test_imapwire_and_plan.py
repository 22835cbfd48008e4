"""The migration's sans-IO pieces: IMAP responses read into values, and the plan file checked line
by line (R13.7); and the IMAP client over TLS against Dovecot with a self-signed certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from hopthu.importing.imapsource import Credentials, Endpoint, ImapSource, Secret, SourceUnreachable, TlsMode
from hopthu.importing.imapwire import Oversized, internal_date, mailbox_name, tokens, uid_set
from hopthu.importing.plan import PlanError, plan_from_bytes
from hopthu.security.certs import make_self_signed
from tests.importing.conftest import OLD_USERS
from tests.importing.dovecot import Dovecot, available, remove, temporary_root


def test_fetch_response_with_literal_and_keywords() -> None:
    text = b'* 3 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE "02-Mar-2026 08:30:00 +0700" BODY[] {5})'
    ((pairs),) = tokens(text, [b"Hello"], start=10)
    assert pairs == [
        "UID",
        "7",
        "FLAGS",
        ["\\Seen", "$Label1"],
        "INTERNALDATE",
        b"02-Mar-2026 08:30:00 +0700",
        "BODY[]",
        b"Hello",
    ]


def test_oversized_literal_and_nil() -> None:
    assert tokens(b"(BODY[] {9} X NIL)", [Oversized(9)]) == [["BODY[]", Oversized(9), "X", None]]


def test_internal_date_and_names() -> None:
    assert internal_date(b" 2-Mar-2026 08:30:00 +0700") == dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
    assert internal_date(b"31-Feb-2026 08:30:00 +0700") is None
    assert mailbox_name("D&HvE- &AOE-n") == "Dự án"
    assert mailbox_name("&Jjo-!&") == "&Jjo-!&"  # not canonical: kept as sent
    assert uid_set([1, 2, 3, 7, 9, 10]) == b"1:3,7,9:10"


def test_plan_reads_vietnamese_headers_and_hides_passwords() -> None:
    plan = plan_from_bytes(
        "p.csv",
        "Địa chỉ cũ,Máy chủ,Mật khẩu,Địa chỉ mới,verify\n"
        "Minh.NV@soctrang.gov.vn,[::1]:993,Bi-Mat-1,nvminh@cantho.gov.vn,no\n".encode(),
        xlsx=False,
    )
    (line,) = plan.lines
    assert (line.endpoint.host, line.endpoint.port, line.endpoint.tls, line.endpoint.verify) == (
        "::1",
        993,
        TlsMode.TLS,
        False,
    )
    assert (
        line.old_address == "minh.nv@soctrang.gov.vn" and line.credentials.user == "minh.nv@soctrang.gov.vn"
    )
    assert "Bi-Mat-1" not in repr(plan) and "Bi-Mat-1" not in plan.digest


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("a@x.vn,h:99999,p,b@y.vn", "port"),
        ("a@x.vn,h:143,,b@y.vn", "password"),
        ("a@x.vn,h:143,p,not-an-address", "new_address"),
        ("a@x.vn,h:143,p\x01,b@y.vn", "control"),
    ],
)
def test_plan_refuses_bad_lines(row: str, words: str) -> None:
    with pytest.raises(PlanError) as refused:
        plan_from_bytes("p.csv", f"old_address,server,password,new_address\n{row}\n".encode(), xlsx=False)
    assert "Dòng 2" in refused.value.vi and words in refused.value.en


def test_plan_from_xlsx() -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["old_address", "server", "tls", "master_user", "master_password", "new_address"])
    sheet.append(
        ["a@soctrang.gov.vn", "mail.soctrang.gov.vn:143", "starttls", "admin", "Pw-1", "nvminh@cantho.gov.vn"]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    (line,) = plan_from_bytes("p.xlsx", buffer.getvalue(), xlsx=True).lines
    assert line.endpoint.tls == TlsMode.STARTTLS and line.credentials.master_user == "admin"


def test_tls_and_starttls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    if not available():
        pytest.skip("dovecot is not installed")
    root = temporary_root()
    make_self_signed(root / "cert.pem", root / "key.pem", ["mail.soctrang.gov.vn"])
    server = Dovecot(root, dict(OLD_USERS), cert=(root / "cert.pem", root / "key.pem"))
    server.start()
    who = Credentials("minh.nv", Secret(OLD_USERS["minh.nv"]))

    async def folders(endpoint: Endpoint) -> list[str]:
        async with await ImapSource.connect(endpoint, who, timeout=10) as source:
            return [f.name for f in await source.folders()]

    try:
        assert "INBOX" in asyncio.run(
            folders(Endpoint("127.0.0.1", server.tls_port, TlsMode.TLS, verify=False))
        )
        assert "INBOX" in asyncio.run(
            folders(Endpoint("127.0.0.1", server.port, TlsMode.STARTTLS, verify=False))
        )
        with pytest.raises(SourceUnreachable) as refused:
            asyncio.run(folders(Endpoint("127.0.0.1", server.tls_port, TlsMode.TLS, verify=True)))
        assert "TLS" in refused.value.en and "Không kết nối được" in refused.value.vi
    finally:
        server.stop()
        remove(root)
