"""IMAP SEARCH over the full-text index (RFC 9051 §6.4.4): TEXT covers every header field, short
needles and unaccented needles work, and SUBJECT/FROM narrowed by the index stay exact."""

from __future__ import annotations

import pytest

from tests.imap.conftest import RunningServer, message


@pytest.fixture
def mailbox(imapserver: RunningServer) -> RunningServer:
    deliver = imapserver.deliver
    deliver("nvminh", message("Công văn số 1", "Kính gửi Sở Nội vụ.", sender="an@example.org"))
    deliver(
        "nvminh", message("Họp giao ban", "Lúc 9 giờ.", extra="Cc: Lê Hồng <hong@soyte.cantho.gov.vn>\r\n")
    )
    deliver("nvminh", message("Trả lời: họp", "Đã nhận, hong@soyte sẽ dự.", sender="hong@example.org"))
    return imapserver


def _search(client, *criteria: str) -> list[bytes]:
    status, data = client.uid("SEARCH", "CHARSET", "UTF-8", *criteria)
    assert status == "OK", data
    return data[0].split()


def test_text_covers_headers_short_and_folded_needles(mailbox: RunningServer) -> None:
    client = mailbox.login()
    client.select("INBOX")
    assert _search(client, "TEXT", '"hong@soyte.cantho.gov.vn"') == [b"2"]  # only in Cc
    assert _search(client, "TEXT", '"hong@soyte"') == [b"2", b"3"]  # Cc of one, body of the other
    assert _search(client, "BODY", '"gui so noi vu"') == [b"1"]  # typed without marks
    assert _search(client, "TEXT", '"9 "') == [b"2"]  # under three characters: no trigram
    assert _search(client, "SUBJECT", '"hop"') == [b"2", b"3"]
    assert _search(client, "SUBJECT", '"so 1"') == [b"1"]
    assert _search(client, "SUBJECT", '"tra loi: h"') == [b"3"]  # across the prefix a reply's key drops
    assert _search(client, "NOT", "SUBJECT", '"hop"') == [b"1"]
    assert _search(client, "FROM", '"hong"') == [b"3"]  # in Cc of 2 and body of 3, From of 3 only
    assert _search(client, "NOT", "TEXT", '"soyte"') == [b"1"]
    client.logout()
