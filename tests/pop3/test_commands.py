"""The POP3 command parser and state table: wire lines to typed commands, without any I/O."""

from __future__ import annotations

import base64

import pytest

from hopthu.pop3.commands import ALLOWED, Command, ParseError, State, decode_plain, parse_command

A, T = State.AUTHORIZATION, State.TRANSACTION


def test_state_table() -> None:
    """RFC 1939 §§4-7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4: every command and where it is valid."""
    expected = {
        "CAPA": {A, T},
        "QUIT": {A, T},
        "USER": {A},
        "PASS": {A},
        "AUTH": {A},
        "STLS": {A},
        "STAT": {T},
        "LIST": {T},
        "UIDL": {T},
        "RETR": {T},
        "TOP": {T},
        "DELE": {T},
        "NOOP": {T},
        "RSET": {T},
    }
    assert expected == ALLOWED


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"CAPA\r\n", Command("CAPA")),
        (b"quit\r\n", Command("QUIT")),
        (b"Stat\n", Command("STAT")),
        (b"LIST\r\n", Command("LIST")),
        (b"LIST 12\r\n", Command("LIST", number=12)),
        (b"UIDL 1", Command("UIDL", number=1)),
        (b"RETR 3\r\n", Command("RETR", number=3)),
        (b"DELE 0003\r\n", Command("DELE", number=3)),
        (b"TOP 2 0\r\n", Command("TOP", number=2, lines=0)),
        (b"TOP 2 10\r\n", Command("TOP", number=2, lines=10)),
        (b"USER nvminh@cantho.gov.vn\r\n", Command("USER", text="nvminh@cantho.gov.vn")),
        (b"PASS m\xe1\xba\xadt kh\xe1\xba\xa9u  \r\n", Command("PASS", text="mật khẩu  ")),
        (b"AUTH\r\n", Command("AUTH")),
        (b"AUTH plain\r\n", Command("AUTH", text="PLAIN")),
        (b"AUTH PLAIN AGEAYg==\r\n", Command("AUTH", text="PLAIN", initial="AGEAYg==")),
        (b"STLS\r\n", Command("STLS")),
    ],
)
def test_parses(line: bytes, command: Command) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(
    "line",
    [
        b"\r\n",
        b"HELO\r\n",
        b"APOP nvminh c4c9334bac560ecc979e58001b3e22fb\r\n",  # not offered
        b"LAST\r\n",  # RFC 1725, gone from RFC 1939
        b"RE\r\n",
        b"RETRX 1\r\n",
        b"\x00\xff\r\n",
        b" STAT\r\n",
        b"STAT 1\r\n",
        b"NOOP now\r\n",
        b"LIST a\r\n",
        b"LIST 0\r\n",
        b"LIST -1\r\n",
        b"LIST 1 2\r\n",
        b"LIST  1\r\n",
        b"RETR\r\n",
        b"RETR 99999999999\r\n",
        b"TOP 1\r\n",
        b"TOP 1 x\r\n",
        b"USER\r\n",
        b"USER a b\r\n",
        b"USER a\x00b\r\n",
        b"PASS\r\n",
        b"PASS \r\n",
        b"PASS a\x07b\r\n",
        b"PASS \xff\xfe\r\n",
        b"AUTH PLAIN a b\r\n",
        b"AUTH PL/AIN\r\n",
    ],
)
def test_refuses(line: bytes) -> None:
    with pytest.raises(ParseError) as refused:
        parse_command(line)
    assert " / " in refused.value.text  # Vietnamese / English


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_decode_plain() -> None:
    assert decode_plain(_b64("\0nvminh\0Hop-Thu-2026")) == ("", "nvminh", "Hop-Thu-2026")
    assert decode_plain(_b64("nvminh\0nvminh\0mật khẩu") + "\r\n") == ("nvminh", "nvminh", "mật khẩu")


@pytest.mark.parametrize(
    "response",
    ["=", "", "!!!", "AGEAYg", _b64("nvminh\0Hop-Thu-2026"), _b64("\0\0pw"), _b64("\0a\0"), "/w=="],
)
def test_decode_plain_refuses(response: str) -> None:
    with pytest.raises(ParseError):
        decode_plain(response)
