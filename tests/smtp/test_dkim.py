"""Our DKIM key and signatures (R3.2): the key file, the DNS record, signing checked by a verifier,
and `hopthu dkim show`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import dkim as dkimpy
import pytest
import typer
from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hopthu.cli import dkim as dkim_cli
from hopthu.cli.common import State
from hopthu.config import CONFIG_FILE
from hopthu.errors import Conflict, HopThuError
from hopthu.smtp import dkim
from hopthu.smtp.authresults import Result
from hopthu.smtp.dns import StaticResolver
from hopthu.smtp.verify import verify_inbound

MESSAGE = (
    b"From: Minh <minh@cantho.gov.vn>\r\n"
    b"To: lan@example.com\r\n"
    b"Cc: a@example.com, b@example.com\r\n"
    b"Subject: Gi\xe1\xba\xa5y m\xe1\xbb\x9di h\xe1\xbb\x8dp\r\n"
    b"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
    b"Message-ID: <k1@cantho.gov.vn>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-Mailer: test\r\n"
    b"\r\n" + "Kính gửi anh Lân,  \r\n\r\nHọp lúc 8 giờ.\r\n\r\n\r\n".encode()
)


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "dkim" / "private.pem"
    dkim.generate_key(path)
    return path


def test_key_is_rsa_2048_pem_readable_by_its_owner_only(key_path: Path) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    pem = dkim.load_key(key_path)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    name, value = dkim.dns_record(pem, "hopthu", "cantho.gov.vn")
    assert name == "hopthu._domainkey.cantho.gov.vn"
    assert value.startswith("v=DKIM1; k=rsa; p=")
    _pk, bits, _ktag, _service = dkimpy.evaluate_pk(name.encode(), value.encode())
    assert bits == 2048


def test_an_existing_key_is_never_overwritten(key_path: Path) -> None:
    before = key_path.read_bytes()
    with pytest.raises(Conflict):
        dkim.generate_key(key_path)
    assert key_path.read_bytes() == before


def test_a_missing_key_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(HopThuError, match="hopthu init"):
        dkim.load_key(tmp_path / "none.pem")


def _fields(signature: bytes) -> dict[bytes, bytes]:
    return dkimpy.util.parse_tag_value(signature.split(b":", 1)[1])


def test_signature_covers_the_chosen_fields_and_oversigns_from(key_path: Path) -> None:
    signature = dkim.sign(
        MESSAGE, selector="hopthu", domain="cantho.gov.vn", key_pem=dkim.load_key(key_path), now=1_772_415_000
    )
    assert signature.startswith(b"DKIM-Signature: ") and signature.endswith(b"\r\n")
    assert all(len(line) <= 78 for line in signature.split(b"\r\n"))
    tags = _fields(signature)
    assert (tags[b"a"], tags[b"c"], tags[b"d"], tags[b"s"], tags[b"t"]) == (
        b"rsa-sha256",
        b"relaxed/relaxed",
        b"cantho.gov.vn",
        b"hopthu",
        b"1772415000",
    )
    signed = [name.strip() for name in tags[b"h"].replace(b"\r\n", b"").split(b":")]
    assert signed == [
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"content-type",
        b"from",
    ]


def test_dkimpy_verifies_our_signature(key_path: Path) -> None:
    pem = dkim.load_key(key_path)
    _name, value = dkim.dns_record(pem, "hopthu", "cantho.gov.vn")
    signed = dkim.sign(MESSAGE, selector="hopthu", domain="cantho.gov.vn", key_pem=pem) + MESSAGE
    assert dkimpy.verify(signed, dnsfunc=lambda _name, timeout=5: value.encode())
    # Relaxed canonicalization: refolding a header and trailing spaces do not matter.
    refolded = signed.replace(b"To: lan@example.com", b"To:\r\n   lan@example.com  ")
    assert dkimpy.verify(refolded, dnsfunc=lambda _name, timeout=5: value.encode())


async def test_sign_then_verify_inbound_round_trip(key_path: Path) -> None:
    pem = dkim.load_key(key_path)
    name, value = dkim.dns_record(pem, "hopthu", "cantho.gov.vn")
    signed = dkim.sign(MESSAGE, selector="hopthu", domain="cantho.gov.vn", key_pem=pem) + MESSAGE
    verdict = await verify_inbound(
        signed,
        client_ip="203.0.113.9",
        helo="mx.example.com",
        mail_from="minh@cantho.gov.vn",
        resolver=StaticResolver(txt_records={name: [value]}),
        authserv_id="mail.cantho.gov.vn",
        our_domains=("cantho.gov.vn",),
    )
    assert [(s.domain, s.result) for s in verdict.dkim] == [("cantho.gov.vn", Result.PASS)]
    assert not verdict.forges_our_domain


@given(st.lists(st.text(" \tab", max_size=8), max_size=8), st.booleans())
def test_relaxed_body_agrees_with_dkimpy(lines: list[str], final_crlf: bool) -> None:
    body = "\r\n".join(lines).encode() + (b"\r\n" if final_crlf else b"")
    assert dkim.relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_a_message_without_from_cannot_be_signed(key_path: Path) -> None:
    with pytest.raises(HopThuError):
        dkim.sign(
            b"To: a@example.com\r\n\r\nx\r\n", selector="s", domain="d.example", key_pem=key_path.read_bytes()
        )


# hopthu dkim show


def _cli(data: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    root = typer.Typer()  # wired like `hopthu dkim` in the real command line
    root.add_typer(dkim_cli.app, name="dkim")
    monkeypatch.setattr(State, "data_dir", data)
    return CliRunner().invoke(root, ["dkim", "show", *args])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / CONFIG_FILE).write_text('[server]\ndomain = "cantho.gov.vn"\n', encoding="utf-8")
    return tmp_path


def test_show_prints_the_record_to_publish(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dkim.generate_key(data_dir / "dkim" / "private.pem")
    expected = dkim.dns_record(dkim.load_key(data_dir / "dkim" / "private.pem"), "hopthu", "cantho.gov.vn")
    shown = _cli(data_dir, monkeypatch, "--json")
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert (record["name"], record["type"], record["value"]) == (*expected[:1], "TXT", expected[1])
    assert record["zone"].startswith("hopthu._domainkey.cantho.gov.vn. IN TXT ( ")
    strings = record["zone"].split('"')[1::2]
    assert "".join(strings) == expected[1] and all(len(s) <= 255 for s in strings)
    text = _cli(data_dir, monkeypatch)
    assert text.exit_code == 0
    assert "hopthu._domainkey.cantho.gov.vn" in text.stdout and expected[1] in text.stdout


def test_show_without_a_key_tells_to_run_init(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _cli(data_dir, monkeypatch)
    assert shown.exit_code == 1
    assert "hopthu init" in shown.stderr and "Lỗi" in shown.stderr
