"""POP3 as `hopthu serve` runs it: the same store and sign-in as IMAP, on its own ports."""

from __future__ import annotations

import poplib

from tests.imap.conftest import PASSWORD, RunningServer, insecure_tls, message


def test_pop3_reads_and_deletes_what_imap_sees(imapserver: RunningServer) -> None:
    imapserver.deliver("nvminh", message("Thư qua POP3", "Nội dung."))
    imapserver.deliver("nvminh", message("Thư thứ hai"))
    client = poplib.POP3_SSL("127.0.0.1", imapserver.port("pop3s"), context=insecure_tls(), timeout=30)
    client.user("nvminh")
    client.pass_(PASSWORD)
    count, _size = client.stat()
    assert count == 2
    lines = client.retr(1)[1]
    assert "Nội dung.".encode() in b"\r\n".join(lines)
    client.dele(1)
    client.quit()
    imap = imapserver.login()
    imap.select("INBOX")
    assert imap.search(None, "ALL")[1] == [b"1"]
    imap.logout()


def test_pop3_needs_stls_on_the_plain_port(imapserver: RunningServer) -> None:
    client = poplib.POP3("127.0.0.1", imapserver.port("pop3"), timeout=30)
    assert "STLS" in client.capa()
    client.stls(context=insecure_tls())
    client.user("ttnanh")
    client.pass_(PASSWORD)
    assert client.stat()[0] == 0
    client.quit()
