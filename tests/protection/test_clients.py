"""The rspamd and clamd clients against the real engines (no Hộp Thư server in between)."""

from __future__ import annotations

import asyncio
import io
import secrets
import zipfile

import pytest

from hopthu.protection.clamd import Clamd
from hopthu.protection.engines import EngineError, ScanEnvelope
from hopthu.protection.rspamd import Rspamd
from tests.protection.conftest import (
    CLAMD_STREAM_MAX,
    EICAR,
    GTUBE,
    JUNK_MARKER,
    JUNK_MARKER_SCORE,
    MALWARE_MARKER,
    Engines,
    free_port,
)

ENVELOPE = ScanEnvelope(
    client_ip="203.0.113.5",
    helo="mx.example.org",
    mail_from="ban@example.org",
    recipients=["minh@cantho.gov.vn", "lan@cantho.gov.vn"],
    hostname="mail.cantho.gov.vn",
    queue_id="q-1",
)


def letter(body: str, *, extra: str = "") -> bytes:
    return (
        "From: Ban <ban@example.org>\r\nTo: minh@cantho.gov.vn\r\nSubject: Chao\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <{secrets.token_hex(6)}@example.org>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}\r\n"
    ).encode()


def with_attachment(name: str, content: bytes) -> bytes:
    import base64

    encoded = base64.encodebytes(content).decode().replace("\n", "\r\n")
    return (
        "From: ban@example.org\r\nTo: minh@cantho.gov.vn\r\nSubject: Tep\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n'
        "Xem tep.\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{encoded}--b1--\r\n"
    ).encode()


def zipped(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def run(coroutine):
    return asyncio.run(coroutine)


def test_rspamd_scores_gtube_at_the_reject_threshold(engines: Engines) -> None:
    async def go():
        client = Rspamd(engines.rspamd_url, timeout=20)
        try:
            return await client.check(letter(GTUBE), ENVELOPE)
        finally:
            await client.close()

    answer = run(go())
    assert answer.action == "reject" and answer.score >= 15 and "GTUBE" in answer.symbols


def test_a_pool_of_one_serves_checks_in_turn(engines: Engines) -> None:
    """rspamd's normal worker answers `Connection: close`: the pool opens a fresh connection each
    time and keeps none it was told to close."""

    async def go():
        client = Rspamd(engines.rspamd_url, timeout=20, pool=1)
        try:
            answers = await asyncio.gather(
                *(client.check(letter(f"Xin chao {i}."), ENVELOPE) for i in range(4))
            )
            return answers, len(client._normal._idle)
        finally:
            await client.close()

    answers, idle = run(go())
    assert all(answer.score < JUNK_MARKER_SCORE for answer in answers)
    assert len(answers) == 4 and idle == 0


def test_our_authentication_results_and_the_marker_are_scored(engines: Engines) -> None:
    ours = "Authentication-Results: mail.cantho.gov.vn; spf=fail smtp.mailfrom=example.org; dmarc=fail\r\n"

    async def go():
        client = Rspamd(engines.rspamd_url, timeout=20)
        try:
            plain = await client.check(letter("Xin chao."), ENVELOPE)
            failing = await client.check(ours.encode() + letter("Xin chao."), ENVELOPE)
            marked = await client.check(letter(f"Xin chao. {JUNK_MARKER}"), ENVELOPE)
            return plain, failing, marked
        finally:
            await client.close()

    plain, failing, marked = run(go())
    assert failing.symbols.get("HOPTHU_DMARC_FAIL") == 4.0 and failing.symbols.get("HOPTHU_SPF_FAIL") == 2.0
    assert failing.score == pytest.approx(plain.score + 6.0)
    assert marked.symbols.get("HOPTHU_TEST_JUNK_MARKER") == JUNK_MARKER_SCORE


def test_learning_spam_raises_the_next_score(engines: Engines) -> None:
    token = secrets.token_hex(8)
    spam = letter(f"Khuyen mai {token} mua ngay thuoc giam can {token} gia re nhat {token} lien he ngay")
    ham = letter(f"Kinh gui anh, bien ban hop {token[::-1]} giao ban tuan nay da gui kem, tran trong.")

    async def go():
        client = Rspamd(
            engines.rspamd_url, controller_url=engines.controller_url, password=engines.password, timeout=20
        )
        try:
            before = await client.check(spam, ENVELOPE)
            await client.learn(ham, spam=False)
            await client.learn(spam, spam=True)
            await client.learn(spam, spam=True)  # already learned: not an error
            after = await client.check(spam, ENVELOPE)
            return before, after
        finally:
            await client.close()

    before, after = run(go())
    assert "BAYES_SPAM" in after.symbols and after.score > before.score


def test_learning_with_a_wrong_password_is_an_engine_error(engines: Engines) -> None:
    async def go():
        client = Rspamd(
            engines.rspamd_url, controller_url=engines.controller_url, password="wrong", timeout=20
        )
        try:
            await client.learn(letter("Xin chao."), spam=True)
        finally:
            await client.close()

    with pytest.raises(EngineError):
        run(go())


def test_rspamd_down_is_an_engine_error() -> None:
    async def go():
        client = Rspamd(f"http://127.0.0.1:{free_port()}", timeout=5)
        try:
            await client.check(letter("Xin chao."), ENVELOPE)
        finally:
            await client.close()

    with pytest.raises(EngineError):
        run(go())


@pytest.mark.parametrize("where", ["tcp", "unix"])
def test_clamd_finds_eicar_in_the_body_an_attachment_and_a_zip(engines: Engines, where: str) -> None:
    address = engines.clamd_address if where == "tcp" else engines.clamd_socket
    client = Clamd(address, timeout=20)
    assert run(client.scan(letter("Xin chao."))) is None
    assert run(client.scan(letter(EICAR.decode()))) == "HopThu.Test.EICAR.UNOFFICIAL"
    assert run(client.scan(with_attachment("eicar.com", EICAR))) == "HopThu.Test.EICAR.UNOFFICIAL"
    assert run(client.scan(with_attachment("tai-lieu.zip", zipped("eicar.txt", EICAR)))) == (
        "HopThu.Test.EICAR.UNOFFICIAL"
    )
    assert run(client.scan(with_attachment("x.bin", b"\0" * 100 + MALWARE_MARKER))) == (
        "HopThu.Test.Marker.UNOFFICIAL"
    )
    assert run(client.ping())


def test_clamd_stream_limit_is_an_error_never_clean(engines: Engines) -> None:
    client = Clamd(engines.clamd_address, timeout=20)
    with pytest.raises(EngineError, match="size limit"):
        run(client.scan(letter("x" * (CLAMD_STREAM_MAX + 100_000))))


def test_clamd_down_is_an_engine_error() -> None:
    with pytest.raises(EngineError):
        run(Clamd(f"127.0.0.1:{free_port()}", timeout=5).scan(b"x"))
