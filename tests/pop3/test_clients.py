"""Real POP3 clients (`poplib`) against the live listeners: the conversations a mail program has."""

from __future__ import annotations

import asyncio
import base64
import poplib
import socket

import pytest

from hopthu.policy.lifecycle import Action
from tests.factories import make_message
from tests.pop3.conftest import PASSWORD, Pop3Server, call, insecure_tls

BODY = "Kính gửi các đơn vị.\r\n.Dòng này bắt đầu bằng dấu chấm\r\n.\r\n..Hai dấu chấm\r\nTrân trọng."


def plain(authcid: str, password: str, authzid: str = "") -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


def refusal(excinfo: pytest.ExceptionInfo[poplib.error_proto]) -> str:
    answer = excinfo.value.args[0]
    return answer.decode() if isinstance(answer, bytes) else str(answer)


async def two_messages(pop3: Pop3Server) -> tuple[list[bytes], list[int]]:
    first = make_message("Giấy mời họp", "Mời đồng chí dự họp lúc 8 giờ.")
    second = make_message("Công văn số 123", BODY)
    uids = [await pop3.deliver("nvminh", first), await pop3.deliver("nvminh", second)]
    return [first, second], uids


# --- CAPA and STLS (RFC 2449 §5, RFC 2595 §4) ------------------------------------------------------


async def test_capa_before_and_after_stls(pop3: Pop3Server) -> None:
    def talk():
        client = pop3.client()
        try:
            welcome = client.getwelcome()
            before = client.capa()
            client.stls(insecure_tls())
            after = client.capa()
            return welcome, before, after
        finally:
            client.quit()

    welcome, before, after = await call(talk)
    assert welcome.startswith(b"+OK ") and "Hộp Thư".encode() in welcome
    assert {"STLS", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"} <= set(before)
    assert "USER" not in before and "SASL" not in before  # no password in the clear
    assert "STLS" not in after
    assert "USER" in after and after["SASL"] == ["PLAIN"]


async def test_implicit_tls_port(pop3: Pop3Server) -> None:
    await pop3.deliver("nvminh", make_message())

    def talk():
        client = pop3.tls_client()
        try:
            caps = client.capa()
            with pytest.raises(poplib.error_proto) as again:
                client._shortcmd("STLS")
            client.user("nvminh")
            client.pass_(PASSWORD)
            return caps, refusal(again), client.stat()
        finally:
            client.quit()

    caps, again, stat = await call(talk)
    assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["PLAIN"]
    assert again.startswith("-ERR") and "TLS" in again
    assert stat[0] == 1


async def test_stls_twice_is_refused(pop3: Pop3Server) -> None:
    def talk():
        client = pop3.client()
        try:
            client.stls(insecure_tls())
            with pytest.raises(poplib.error_proto) as again:
                client._shortcmd("STLS")
            return refusal(again)
        finally:
            client.quit()

    assert (await call(talk)).startswith("-ERR")


async def test_plain_text_after_stls_is_discarded(pop3: Pop3Server) -> None:
    """CVE-2011-0411: a USER injected after STLS in the same packet must not count once TLS is on."""

    def talk():
        raw = socket.create_connection(("127.0.0.1", pop3.ports["pop3"]), timeout=30)
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"+OK")
        raw.sendall(b"STLS\r\nUSER nvminh\r\n")
        assert reader.readline().startswith(b"+OK")
        tls = insecure_tls().wrap_socket(raw, server_hostname="mail.cantho.gov.vn")
        secure = tls.makefile("rb")
        tls.sendall(f"PASS {PASSWORD}\r\n".encode())
        answer = secure.readline()
        tls.sendall(b"QUIT\r\n")
        secure.readline()
        tls.close()
        return answer

    answer = await call(talk)
    assert answer.startswith(b"-ERR") and b"USER" in answer


# --- signing in (RFC 1939 §7, RFC 5034, RFC 3206) ----------------------------------------------------


async def test_user_pass_without_tls_is_refused(pop3: Pop3Server) -> None:
    def talk():
        client = pop3.client()
        try:
            answers = []
            for command in ("USER nvminh", f"PASS {PASSWORD}", f"AUTH PLAIN {plain('nvminh', PASSWORD)}"):
                with pytest.raises(poplib.error_proto) as refused:
                    client._shortcmd(command)
                answers.append(refusal(refused))
            return answers
        finally:
            client.quit()

    for answer in await call(talk):
        assert answer.startswith("-ERR") and "STLS" in answer


async def test_plain_login_on_loopback_when_allowed(loopback_pop3: Pop3Server) -> None:
    await loopback_pop3.deliver("nvminh", make_message())

    def talk():
        client = loopback_pop3.client()
        try:
            caps = client.capa()
            client.user("nvminh")
            client.pass_(PASSWORD)
            return caps, client.stat()
        finally:
            client.quit()

    caps, stat = await call(talk)
    assert "USER" in caps and caps["SASL"] == ["PLAIN"] and "STLS" in caps
    assert stat[0] == 1


async def test_auth_plain(pop3: Pop3Server) -> None:
    await pop3.deliver("ttnanh", make_message())

    def talk():
        results = {}
        client = pop3.client()
        try:
            client.stls(insecure_tls())
            results["mechanisms"] = client._longcmd("AUTH")[1]
            with pytest.raises(poplib.error_proto) as unknown:
                client._shortcmd("AUTH CRAM-MD5")
            results["unknown"] = refusal(unknown)
            # "+ " continuation, then "*" cancels (RFC 5034 §4)
            client._putcmd("AUTH PLAIN")
            results["challenge"] = client._getline()[0]
            client._putcmd("*")
            with pytest.raises(poplib.error_proto) as cancelled:
                client._getresp()
            results["cancelled"] = refusal(cancelled)
            with pytest.raises(poplib.error_proto) as wrong:
                client._shortcmd(f"AUTH PLAIN {plain('ttnanh', 'Sai-Mat-Khau-1')}")
            results["wrong"] = refusal(wrong)
            with pytest.raises(poplib.error_proto) as other:
                client._shortcmd(f"AUTH PLAIN {plain('ttnanh', PASSWORD, authzid='nvminh')}")
            results["other"] = refusal(other)
            with pytest.raises(poplib.error_proto) as garbage:
                client._shortcmd("AUTH PLAIN !!!")
            results["garbage"] = refusal(garbage)
            # the continuation form, with an authzid naming the same person
            client._putcmd("AUTH PLAIN")
            client._getline()
            client._putcmd(plain("ttnanh", PASSWORD, authzid="ttnanh@cantho.gov.vn"))
            results["signed_in"] = client._getresp()
            results["stat"] = client.stat()
        finally:
            client.quit()
        return results

    results = await call(talk)
    assert results["mechanisms"] == [b"PLAIN"]
    assert results["unknown"].startswith("-ERR")
    assert results["challenge"] == b"+ "
    assert results["cancelled"].startswith("-ERR")
    assert results["wrong"].startswith("-ERR [AUTH] Sai địa chỉ hoặc mật khẩu / Wrong address or password")
    assert results["other"].startswith("-ERR [AUTH]")
    assert results["garbage"].startswith("-ERR")
    assert results["signed_in"].startswith(b"+OK")
    assert results["stat"][0] == 1


async def test_auth_plain_initial_response(pop3: Pop3Server) -> None:
    def talk():
        client = pop3.client()
        try:
            client.stls(insecure_tls())
            answer = client._shortcmd(f"AUTH PLAIN {plain('nvminh@cantho.gov.vn', PASSWORD)}")
            return answer, client.stat()
        finally:
            client.quit()

    answer, stat = await call(talk)
    assert answer.startswith(b"+OK") and stat == (0, 0)


async def test_wrong_password_refused(pop3: Pop3Server) -> None:
    def talk():
        client = pop3.client()
        try:
            client.stls(insecure_tls())
            client.user("nvminh")
            with pytest.raises(poplib.error_proto) as refused:
                client.pass_("Khong-Dung-2026")
            with pytest.raises(poplib.error_proto) as no_user:  # USER is forgotten after a failure
                client.pass_(PASSWORD)
            with pytest.raises(poplib.error_proto) as wrong_state:
                client.stat()
            return refusal(refused), refusal(no_user), refusal(wrong_state)
        finally:
            client.quit()

    refused, no_user, wrong_state = await call(talk)
    assert refused == "-ERR [AUTH] Sai địa chỉ hoặc mật khẩu / Wrong address or password"
    assert no_user.startswith("-ERR") and "USER" in no_user
    assert wrong_state.startswith("-ERR")


async def test_r5_2_temporary_password_must_be_changed(pop3: Pop3Server) -> None:
    def talk():
        client = pop3.client()
        try:
            client.stls(insecure_tls())
            client.user("lvbinh")
            with pytest.raises(poplib.error_proto) as refused:
                client.pass_(pop3.temporary["lvbinh"])
            return refusal(refused)
        finally:
            client.quit()

    refused = await call(talk)
    assert refused.startswith("-ERR [AUTH] Cần đổi mật khẩu")
    assert pop3.settings.server.web_url in refused


@pytest.mark.parametrize(
    ("action", "reason", "word"),
    [(Action.LOCK, "violation", "tạm khóa"), (Action.REVOKE, "inactive", "đã thu hồi")],
)
async def test_r6_locked_or_revoked_cannot_sign_in(pop3: Pop3Server, action, reason, word) -> None:
    await pop3.directory.accounts.change_status("nvminh", action, reason=reason, ref="QĐ 1", actor="test")

    def talk():
        client = pop3.client()
        try:
            client.stls(insecure_tls())
            client.user("nvminh")
            with pytest.raises(poplib.error_proto) as refused:
                client.pass_(PASSWORD)
            return refusal(refused)
        finally:
            client.quit()

    refused = await call(talk)
    assert refused.startswith("-ERR [AUTH]") and word in refused


async def test_in_use(pop3: Pop3Server) -> None:
    def talk():
        first = pop3.signed_in()
        second = pop3.client()
        second.stls(insecure_tls())
        second.user("nvminh")
        with pytest.raises(poplib.error_proto) as busy:
            second.pass_(PASSWORD)
        other = pop3.signed_in("ttnanh")  # another person's maildrop is not locked
        other.quit()
        first.quit()
        second.user("nvminh")
        second.pass_(PASSWORD)  # free once the first session ended
        second.quit()
        return refusal(busy)

    busy = await call(talk)
    assert busy.startswith("-ERR [IN-USE]")


# --- TRANSACTION state (RFC 1939 §5, §7) ---------------------------------------------------------


async def test_stat_list_uidl_retr_top(pop3: Pop3Server) -> None:
    messages, uids = await two_messages(pop3)
    account = await pop3.directory.accounts.get("nvminh")
    box = await pop3.store.mail.mailbox(account.id, "INBOX")
    assert box is not None

    def talk():
        client = pop3.signed_in()
        try:
            return {
                "stat": client.stat(),
                "list": client.list(),
                "list2": client.list(2),
                "uidl": client.uidl(),
                "uidl1": client.uidl(1),
                "retr": client.retr(2),
                "top0": client.top(2, 0),
                "top2": client.top(2, 2),
                "noop": client.noop(),
            }
        finally:
            client.quit()

    got = await call(talk)
    sizes = [len(m) for m in messages]
    assert got["stat"] == (2, sum(sizes))
    assert got["list"][1] == [f"1 {sizes[0]}".encode(), f"2 {sizes[1]}".encode()]
    assert got["list2"] == f"+OK 2 {sizes[1]}".encode()
    ids = [f"{box.uidvalidity}.{uid}" for uid in uids]
    assert got["uidl"][1] == [f"1 {ids[0]}".encode(), f"2 {ids[1]}".encode()]
    assert got["uidl1"] == f"+OK 1 {ids[0]}".encode()

    response, lines, octets = got["retr"]
    assert response == f"+OK {sizes[1]} octets".encode()
    assert b"\r\n".join(lines) + b"\r\n" == messages[1]  # poplib undid the dot-stuffing
    assert octets == sizes[1]
    text = messages[1].decode()
    assert "Trân trọng." in text and "\r\n.Dòng này" in text and "\r\n.\r\n" in text

    header, body = messages[1].split(b"\r\n\r\n", 1)
    assert got["top0"][1] == [*header.split(b"\r\n"), b""]
    assert got["top2"][1] == [*header.split(b"\r\n"), b"", *body.split(b"\r\n")[:2]]
    assert got["top2"][1][-1] == ".Dòng này bắt đầu bằng dấu chấm".encode()
    assert got["noop"].startswith(b"+OK")


async def test_dot_stuffing_on_the_wire(pop3: Pop3Server) -> None:
    await pop3.deliver("nvminh", make_message("Chấm", ".mở đầu\r\n.\r\nkết"))

    def talk():
        client = pop3.signed_in()
        try:
            client._putcmd("RETR 1")
            raw = []
            while True:
                line = client.file.readline()
                raw.append(line)
                if line == b".\r\n":
                    return raw
        finally:
            client.quit()

    raw = await call(talk)
    assert raw[0].startswith(b"+OK")
    assert "..mở đầu\r\n".encode() in raw and b"..\r\n" in raw
    assert raw[-2] == "kết\r\n".encode()


async def test_dele_and_rset_keep_everything(pop3: Pop3Server) -> None:
    _, uids = await two_messages(pop3)

    def talk():
        client = pop3.signed_in()
        try:
            answers = {"dele": client.dele(1), "stat": client.stat()}
            for name, action in (("list", client.list), ("retr", client.retr), ("dele_again", client.dele)):
                with pytest.raises(poplib.error_proto) as refused:
                    action(1)
                answers[name] = refusal(refused)
            with pytest.raises(poplib.error_proto) as missing:
                client.retr(3)
            answers["missing"] = refusal(missing)
            answers["listing"] = client.list()[1]
            answers["rset"] = client.rset()
            answers["after"] = client.stat()
            return answers
        finally:
            client.quit()

    answers = await call(talk)
    assert answers["dele"].startswith(b"+OK")
    assert answers["stat"][0] == 1
    assert all(answers[k].startswith("-ERR") for k in ("list", "retr", "dele_again", "missing"))
    assert [line.split()[0] for line in answers["listing"]] == [b"2"]
    assert answers["rset"].startswith(b"+OK")
    assert answers["after"][0] == 2
    assert await pop3.inbox_uids("nvminh") == uids


async def test_dele_and_quit_removes(pop3: Pop3Server) -> None:
    _, uids = await two_messages(pop3)

    def first_session():
        client = pop3.signed_in()
        ids = client.uidl()[1]
        client.dele(1)
        return ids, client.quit()

    ids, goodbye = await call(first_session)
    assert goodbye.startswith(b"+OK")
    assert await pop3.inbox_uids("nvminh") == uids[1:]

    def second_session():
        client = pop3.signed_in()
        try:
            return client.uidl()[1]
        finally:
            client.quit()

    # the remaining message is renumbered 1 and keeps its unique id
    assert await call(second_session) == [b"1 " + ids[1].split()[1]]


async def test_disconnect_without_quit_removes_nothing(pop3: Pop3Server) -> None:
    _, uids = await two_messages(pop3)

    def talk():
        client = pop3.signed_in()
        client.dele(1)
        client.dele(2)
        client.close()

    await call(talk)
    await signed_in_eventually(pop3)
    assert await pop3.inbox_uids("nvminh") == uids


async def test_snapshot_hides_new_mail(pop3: Pop3Server) -> None:
    await pop3.deliver("nvminh", make_message())
    client = await call(pop3.signed_in)
    try:
        assert (await call(client.stat))[0] == 1
        await pop3.deliver("nvminh", make_message("Thư mới"))
        assert (await call(client.stat))[0] == 1
        assert len((await call(client.list))[1]) == 1
    finally:
        await call(client.quit)
    client = await call(pop3.signed_in)
    try:
        assert (await call(client.stat))[0] == 2
    finally:
        await call(client.quit)


async def test_message_expunged_meanwhile(pop3: Pop3Server) -> None:
    _, uids = await two_messages(pop3)
    account = await pop3.directory.accounts.get("nvminh")
    box = await pop3.store.mail.mailbox(account.id, "INBOX")
    assert box is not None
    client = await call(pop3.signed_in)
    try:
        await pop3.store.mail.expunge(box.id, [uids[0]])  # as an IMAP client might
        for action in (client.retr, lambda n: client.top(n, 1)):
            with pytest.raises(poplib.error_proto) as gone:
                await call(action, 1)
            assert refusal(gone).startswith("-ERR")
        assert (await call(client.retr, 2))[0].startswith(b"+OK")
        await call(client.dele, 1)
    finally:
        assert (await call(client.quit)).startswith(b"+OK")  # removing what is gone is no error
    assert await pop3.inbox_uids("nvminh") == uids[1:]


# --- misbehaving clients ------------------------------------------------------------------------


def raw_client(port: int) -> tuple[socket.socket, object]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"+OK")
    return sock, reader


async def test_long_lines_are_refused_then_the_connection_closes(pop3: Pop3Server) -> None:
    """RFC 2449 §4: 255 octets a command line. Each longer one is thrown away and answered -ERR,
    the session goes on; after a few the connection closes, and a line whose end never comes (here
    over 64 KiB) ends it at once. The server never holds more than a few KiB of a line."""

    def talk():
        sock, reader = raw_client(pop3.ports["pop3"])
        with sock:
            sock.sendall(b"USER " + b"x" * 300 + b"\r\n" + b"NOOP\r\n")
            first = reader.readline()
            after_first = reader.readline()
            sock.sendall(b"USER " + b"y" * 5000 + b"\r\n")
            second = reader.readline()
            sock.sendall(b"CAPA " + b"z" * 300 + b"\r\n")
            return first, after_first, second, reader.readline(), reader.readline()

    first, after_first, second, third, after = await call(talk)
    assert first.startswith(b"-ERR") and "quá dài".encode() in first and b"255" in first
    assert after_first.startswith(b"-ERR")  # NOOP before sign-in: the session still answers
    assert second.startswith(b"-ERR") and b"closing" not in second
    assert third.startswith(b"-ERR") and b"closing" in third
    assert after == b""  # closed

    def endless() -> list[bytes]:
        """What the server said until it closed (a reset may swallow its -ERR: the bytes it did not
        read are still in flight when it closes)."""
        sock, reader = raw_client(pop3.ports["pop3"])
        heard = []
        with sock:
            sock.settimeout(10)
            try:
                sock.sendall(b"USER " + b"x" * 200_000)
                while line := reader.readline():
                    heard.append(line)
            except TimeoutError:
                heard.append(b"still open")
            except OSError:
                pass
        return heard

    heard = await call(endless)
    assert all(line.startswith(b"-ERR") and b"closing" in line for line in heard) and len(heard) <= 1


async def test_garbage_commands(pop3: Pop3Server) -> None:
    junk = [b"HELO there", b"\x00\xff\xfe", b"", b"LIST abc", b"RETR", b"TOP 1", b"STAT", b"APOP a b"]

    def talk():
        sock, reader = raw_client(pop3.ports["pop3"])
        with sock:
            answers = []
            for n in range(19):
                sock.sendall(junk[n % len(junk)] + b"\r\n")
                answers.append(reader.readline())
            sock.sendall(b"CAPA\r\n")
            capa = reader.readline()
            while reader.readline() != b".\r\n":
                pass
            sock.sendall(b"BOGUS\r\n")
            return answers, capa, reader.readline(), reader.readline()

    answers, capa, last, after = await call(talk)
    assert all(a.startswith(b"-ERR") for a in answers)
    assert capa.startswith(b"+OK")  # still talking after 19 bad commands
    assert last.startswith(b"-ERR") and after == b""  # the 20th closes the connection


async def test_survives_client_vanishing_mid_command(pop3: Pop3Server) -> None:
    big = make_message("Thư lớn", "Nội dung văn bản hành chính.\r\n" * 100_000)  # about 3 MB
    await pop3.deliver("nvminh", big)

    def vanish_mid_line():
        client = pop3.signed_in()
        client.sock.sendall(b"RET")
        client.sock.close()

    def vanish_mid_retr():
        client = pop3.signed_in()
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.sock.sendall(b"RETR 1\r\n")
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.sock.close()  # reset while the server is sending

    def vanish_mid_tls():
        raw = socket.create_connection(("127.0.0.1", pop3.ports["pop3s"]), timeout=30)
        raw.sendall(b"\x16\x03\x01\x00\x05hello")
        raw.close()

    for vanish in (vanish_mid_line, vanish_mid_retr, vanish_mid_tls):
        await call(vanish)
        client = await signed_in_eventually(pop3)
        try:
            octets = (await call(client.retr, 1))[2]
            assert octets == len(big)
        finally:
            await call(client.quit)


async def test_internal_error_is_answered_without_details(
    pop3: Pop3Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await pop3.deliver("nvminh", make_message())

    async def broken(mailbox_id: int, uid: int) -> bytes:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(pop3.store.mail, "message_bytes", broken)

    def talk():
        client = pop3.signed_in()
        try:
            with pytest.raises(poplib.error_proto) as failed:
                client.retr(1)
            return refusal(failed), client.noop()
        finally:
            client.quit()

    failed, noop = await call(talk)
    assert failed.startswith("-ERR [SYS/TEMP]") and "fire" not in failed
    assert noop.startswith(b"+OK")  # the session goes on
    incident = failed.split("(mã ")[1].split(")")[0]
    assert any(incident in record.getMessage() and record.exc_info for record in caplog.records)


async def signed_in_eventually(pop3: Pop3Server, login: str = "nvminh") -> poplib.POP3:
    """A signed-in client, once the server has noticed the previous session's connection is gone."""
    for _ in range(100):
        try:
            return await call(pop3.signed_in, login)
        except poplib.error_proto as error:
            if b"[IN-USE]" not in error.args[0]:
                raise
        await asyncio.sleep(0.05)
    raise AssertionError("the maildrop stayed locked")
