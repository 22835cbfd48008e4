"""Scripted POP3 conversations over an in-memory transport: the rules no socket is needed for."""

from __future__ import annotations

import asyncio

import pytest

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator
from hopthu.directory.context import DirectoryContext
from hopthu.pop3 import session as session_module
from hopthu.pop3.maildrop import MaildropLocks
from hopthu.pop3.session import MAX_BAD_COMMANDS, Disconnected, Pop3Service, Session
from hopthu.store import Store
from tests.factories import make_message
from tests.pop3.conftest import PASSWORD, Pop3Server


class ScriptedTransport:
    """Lines in from a queue (None: the client hangs up), everything written kept in `output`."""

    def __init__(self, lines: list[bytes | None], *, peer: str = "127.0.0.1", secure: bool = True) -> None:
        self.lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        for line in lines:
            self.lines.put_nowait(line)
        self.output = bytearray()
        self.closed = False
        self._peer = peer
        self._secure = secure

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def secure(self) -> bool:
        return self._secure

    @property
    def can_start_tls(self) -> bool:
        return not self._secure

    async def read_line(self) -> bytes:
        line = await self.lines.get()
        if line is None:
            raise Disconnected("hung up")
        return line + b"\r\n"

    def write(self, data: bytes) -> None:
        self.output += data

    async def drain(self) -> None:
        return None

    async def start_tls(self) -> None:
        self._secure = True

    async def close(self) -> None:
        self.closed = True

    def replies(self) -> list[str]:
        return self.output.decode().split("\r\n")[:-1]


@pytest.fixture
def service(settings: Settings, store: Store, clock, people) -> Pop3Service:
    authenticator = Authenticator(DirectoryContext(store, settings, clock=clock))
    return Pop3Service(authenticator, store, MaildropLocks(), idle_timeout=5)


async def converse(service: Pop3Service, lines: list[bytes | None], **transport) -> ScriptedTransport:
    scripted = ScriptedTransport(lines, **transport)
    await asyncio.wait_for(Session(service, scripted).run(), 10)
    assert scripted.closed
    return scripted


SIGN_IN = [b"USER nvminh", b"PASS " + PASSWORD.encode()]


async def test_wrong_state_commands(service: Pop3Service) -> None:
    scripted = await converse(service, [b"STAT", b"RETR 1", b"NOOP", *SIGN_IN, b"USER x", b"STLS", b"QUIT"])
    replies = scripted.replies()
    assert replies[0].startswith("+OK")
    assert all(r.startswith("-ERR") for r in replies[1:4])
    assert replies[4].startswith("+OK") and replies[5].startswith("+OK Đã mở hộp thư: 0 thư")
    assert replies[6].startswith("-ERR") and replies[7].startswith("-ERR")
    assert replies[8].startswith("+OK")


async def test_too_many_bad_commands(service: Pop3Service) -> None:
    scripted = await converse(service, [b"XYZZY"] * (MAX_BAD_COMMANDS + 5))
    replies = scripted.replies()
    assert len(replies) == 1 + MAX_BAD_COMMANDS  # greeting, then one answer per bad command until closed
    assert "Quá nhiều lệnh sai" in replies[-1]


async def test_idle_client_is_logged_out_without_update(service: Pop3Service, pop3: Pop3Server) -> None:
    uid = await pop3.deliver("nvminh", make_message())
    service.idle_timeout = 0.2
    scripted = await converse(service, [*SIGN_IN, b"DELE 1"])  # then silence
    replies = scripted.replies()
    assert replies[-1].startswith("+OK Đã đánh dấu xóa")  # RFC 1939 §3: no response to the timeout
    assert await pop3.inbox_uids("nvminh") == [uid]
    assert len(service.locks) == 0


async def test_idle_timeout_is_ten_minutes() -> None:
    assert session_module.IDLE_TIMEOUT == 600
    assert Pop3Service.idle_timeout == 600


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.7", False),
        ("10.0.0.1", False),
    ],
)
async def test_plain_login_on_loopback_only(service: Pop3Service, peer: str, allowed: bool) -> None:
    service.plain_login_on_loopback = True
    scripted = await converse(service, [b"CAPA", *SIGN_IN, b"QUIT"], peer=peer, secure=False)
    text = scripted.output.decode()
    assert ("\r\nUSER\r\n" in text) is allowed
    assert ("Đã mở hộp thư" in text) is allowed
    assert "\r\nSTLS\r\n" in text  # offered either way


async def test_failure_opening_the_maildrop_releases_the_lock(
    service: Pop3Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(store, box):
        raise ConnectionError("database went away")

    monkeypatch.setattr(session_module.Maildrop, "open", broken)
    scripted = await converse(service, [*SIGN_IN, b"STAT", None])
    replies = scripted.replies()
    assert replies[2].startswith("-ERR [SYS/TEMP] Lỗi nội bộ (mã ")
    assert "database" not in scripted.output.decode()
    assert replies[3].startswith("-ERR")  # still not signed in
    assert len(service.locks) == 0
    assert any("incident" in record.getMessage() for record in caplog.records)


async def test_session_survives_nothing_but_hang_up(service: Pop3Service) -> None:
    scripted = await converse(service, [b"CAPA", None])
    assert scripted.replies()[-1] == "."
