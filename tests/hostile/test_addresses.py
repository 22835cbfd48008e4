"""Hostile address headers and header text against a real `hopthu serve`.

- A From: read two ways (`me@cantho.gov.vn <giamdoc@cantho.gov.vn>`: the bare address or the one in
  angle brackets) is refused at submission, and at the MX when it names our domain (R3.2), while
  honest mail with odd but valid headers keeps arriving.
- A megabyte typed into the webmail's "To" field answers at once with an error; the old regex took
  seconds per 32 KB, on the event loop every protocol shares.
- A message whose subject (an encoded word) holds a CR and whose attachment is named with CRLF can be
  forwarded, answered, saved as a draft and reported as spam without a server error.
"""

from __future__ import annotations

import html
import imaplib
import re
import smtplib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.hostile.conftest import PASSWORD, Served, client_tls

DOMAIN = "cantho.gov.vn"
OUTSIDE = "ban@example.org"


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    """Answers DNS from a file (no DNS server is asked): example.org publishes SPF and no DMARC."""
    dns = tmp_path / "dns.toml"
    dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
    return {"HOPTHU_SMTP_DNS_FILE": str(dns)}


def letter(author: str, to: str, subject: str = "Chao", extra: str = "") -> bytes:
    return (
        f"From: {author}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <h1@example.org>\r\n\r\nXin chao.\r\n"
    ).encode()


def mx_send(served: Served, mail_from: str, to: str, data: bytes) -> tuple[int, str]:
    """One message over the MX port; (code, text) of the answer to DATA (or to the refused step)."""
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=30) as smtp:
        smtp.ehlo("mx.example.org")
        smtp.mail(mail_from)
        code, text = smtp.rcpt(to)
        assert code == 250, text
        code, text = smtp.data(data)
    return code, text.decode()


def inbox_count(served: Served, local: str) -> int:
    with imaplib.IMAP4_SSL("127.0.0.1", served.port("imaps"), ssl_context=client_tls()) as imap:
        imap.login(local, PASSWORD)
        status, data = imap.select("INBOX", readonly=True)
        assert status == "OK"
        return int(data[0])


# --- one reading of who sent it ------------------------------------------------------------------------


def test_ambiguous_from_refused_at_submission(served: Served) -> None:
    minh = served.account()
    anh = served.account("Ánh", "Trần", "Thị Ngọc")
    own = f"{minh}@{DOMAIN}"
    context = client_tls()
    with smtplib.SMTP_SSL("127.0.0.1", served.port("submissions"), context=context, timeout=30) as smtp:
        smtp.login(minh, PASSWORD)
        # Before: read as `own` (the bare address) and allowed; mail clients show giamdoc@.
        for author in (
            f"{own} <giamdoc@{DOMAIN}>",
            f'"giamdoc@{DOMAIN}" <{own}>',
            f"{own} (giamdoc@{DOMAIN})",
        ):
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.sendmail(own, [f"{anh}@{DOMAIN}"], letter(author, f"{anh}@{DOMAIN}"))
            assert refused.value.smtp_code == 550
            text = refused.value.smtp_error.decode()
            assert "5.7.1" in text and "khong ro rang" in text and "ambiguous" in text, text
        # Several From: fields: refused too, whichever one a client would show.
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail(
                own, [f"{anh}@{DOMAIN}"], letter(own, f"{anh}@{DOMAIN}", extra=f"From: giamdoc@{DOMAIN}\r\n")
            )
        assert refused.value.smtp_code == 550
        # The honest letter goes through on the same connection.
        assert smtp.sendmail(own, [f"{anh}@{DOMAIN}"], letter(f"Minh <{own}>", f"{anh}@{DOMAIN}")) == {}
    assert inbox_count(served, anh) == 1


def test_ambiguous_from_naming_us_refused_at_mx(served: Served) -> None:
    minh = served.account()
    to = f"{minh}@{DOMAIN}"
    # Before: read as the bare outside address, so DMARC judged example.org and let it in, while a
    # mail client shows and answers giamdoc@ (the angle address, ours).
    for author in (
        f"{OUTSIDE} <giamdoc@{DOMAIN}>",
        f'"giamdoc@{DOMAIN}" <{OUTSIDE}>',
        f"=?utf-8?q?giamdoc=40{DOMAIN}?= <{OUTSIDE}>",
        f"{OUTSIDE} (giamdoc@{DOMAIN})",
        f"{OUTSIDE}, giamdoc@soctrang.gov.vn",  # several authors, no Sender:, one of them ours
    ):
        code, text = mx_send(served, OUTSIDE, to, letter(author, to))
        assert (code, "5.7.1") == (550, text.split()[0]) and "DMARC" in text, (author, code, text)
    code, text = mx_send(
        served,
        OUTSIDE,
        to,
        letter(f"Ban <{OUTSIDE}>", to, extra=f'Reply-To: "giamdoc@{DOMAIN}" <x@example.org>\r\n'),
    )
    assert code == 550, text
    assert inbox_count(served, minh) == 0
    # Honest mail from outside with odd but valid headers keeps arriving.
    for author, extra in (
        (f"Pete(A wonderful \\) chap) <{OUTSIDE}(his account)>", ""),
        (f'"Nguyen, Van A." <{OUTSIDE}>', "Reply-To: Nhom:;\r\n"),
        (f"{OUTSIDE}, b@example.org", f"Sender: {OUTSIDE}\r\n"),
        (f"{OUTSIDE} (Ban tiep dan)", "Cc: undisclosed-recipients:;\r\n"),
        (f'"{OUTSIDE}" <{OUTSIDE}>', ""),
        (f"Ban <@relay.example.org:{OUTSIDE}>", ""),
    ):
        code, text = mx_send(served, OUTSIDE, to, letter(author, to, extra=extra))
        assert code == 250, (author, text)
    assert inbox_count(served, minh) == 6


# --- the webmail's recipient fields ------------------------------------------------------------------


@contextmanager
def webmail(served: Served, local: str) -> Iterator[httpx.Client]:
    """An httpx client signed in to the webmail as `local`."""
    with httpx.Client(base_url=served.http, timeout=60, follow_redirects=True) as client:
        form = client.get("/dang-nhap")
        answer = client.post(
            "/dang-nhap",
            data={"login": local, "password": PASSWORD, "csrf": csrf_of(form.text), "next": "/thu"},
        )
        assert answer.status_code == 200 and "/thu/" in str(answer.url), answer.text[:500]
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    assert found, page[:500]
    return html.unescape(found[1])


def form_of(page: str) -> dict[str, list[str]]:
    """The compose form's fields as the page fills them (inputs and the body's textarea)."""
    fields: dict[str, list[str]] = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name = re.search(r'\bname="([^"]*)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        kind = re.search(r'\btype="([^"]*)"', tag)
        if name is None or (kind and kind[1] in ("file", "submit")):
            continue
        if kind and kind[1] in ("checkbox", "radio") and "checked" not in tag:
            continue
        fields.setdefault(name[1], []).append(html.unescape(value[1]) if value else "")
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S)
    fields["body"] = [html.unescape(body[1]) if body else ""]
    return fields


def test_megabyte_recipient_field_answers_at_once(served: Served) -> None:
    minh = served.account()
    anh = served.account("Ánh", "Trần", "Thị Ngọc")
    # What the old regex backtracked on: a word, a long run of spaces, a word (8 s per 32 KB).
    fields = {"to": "a" + " " * (1 << 20) + "b", "cc": "a" + " " * 60_000 + "b"}
    answers: dict[str, tuple[int, str, float]] = {}
    with webmail(served, minh) as client:
        csrf = csrf_of(client.get("/soan-thu").text)

        def post(field: str) -> None:
            started = time.monotonic()
            form = {"csrf": csrf, "from": f"{minh}@{DOMAIN}", "subject": "x", "body": "y"}
            form[field] = fields[field]
            # As multipart, as the page sends it: each field may be megabytes (the body's bound).
            answer = client.post("/soan-thu", data=form, files={"files": ("", b"")})
            answers[field] = (answer.status_code, answer.text, time.monotonic() - started)

        posts = [threading.Thread(target=post, args=(field,)) for field in fields]
        for thread in posts:
            thread.start()
        # An honest IMAP client gets its answers meanwhile.
        started = time.monotonic()
        assert inbox_count(served, anh) == 0
        assert time.monotonic() - started < 5
        for thread in posts:
            thread.join(120)
        assert not any(thread.is_alive() for thread in posts)
    status, text, took = answers["to"]
    assert (status, "Ô “Đến” quá dài") == (400, re.search("Ô “Đến” quá dài", text)[0]) and took < 5, took
    status, text, took = answers["cc"]
    assert status == 400 and "Ô “Cc”: “a" in text and "không phải là địa chỉ thư hợp lệ" in text
    assert took < 5, took
    assert served.alive()


# --- header text that cannot carry line breaks -------------------------------------------------------


def hostile_letter(to: str) -> bytes:
    """An encoded-word subject holding CR (and an injected Bcc:), a file named with CRLF."""
    return (
        f"From: Ban <{OUTSIDE}>\r\nTo: {to}\r\n"
        "Subject: =?utf-8?q?B=C3=A1o_c=C3=A1o=0DBcc:_x@example.org?=\r\n"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <h2@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nXin chao.\r\n"
        '--b\r\nContent-Type: application/pdf; name="=?utf-8?q?ke=0D=0Ahoach.pdf?="\r\n'
        "Content-Disposition: attachment; filename*=utf-8''bao%0D%0ABcc%3A%20y%40example.org.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()


def test_message_with_line_breaks_in_header_words_can_be_answered(served: Served) -> None:
    minh = served.account()
    anh = served.account("Ánh", "Trần", "Thị Ngọc")
    code, text = mx_send(served, OUTSIDE, f"{minh}@{DOMAIN}", hostile_letter(f"{minh}@{DOMAIN}"))
    assert code == 250, text
    with webmail(served, minh) as client:
        inbox = int(str(client.get("/thu").url).rstrip("/").rsplit("/", 1)[1])
        reading = client.get(f"/thu/{inbox}/1")
        assert reading.status_code == 200
        for kind in ("chuyen-tiep", "tra-loi"):
            page = client.get("/soan-thu", params={"kieu": kind, "thu": inbox, "uid": 1})
            assert page.status_code == 200
            form = form_of(page.text)
            if kind == "chuyen-tiep":
                assert form.get("keep"), "the forward keeps the file"
            form["to"] = [f"{anh}@{DOMAIN}"]
            draft = client.post("/soan-thu/nhap", data=form, headers={"accept": "application/json"})
            assert draft.status_code == 200 and draft.json()["draft"], draft.text[:300]
            form["draft"] = [str(draft.json()["draft"])]
            form["keep"] = draft.json()["keep"]
            sent = client.post("/soan-thu", data=form)
            assert sent.status_code == 200 and "da-gui=1" in str(sent.url), sent.text[:500]
        reading = client.get(f"/thu/{inbox}/1")
        reported = client.post(f"/thu/{inbox}/1/bao-cao", data={"csrf": csrf_of(reading.text)})
        assert reported.status_code == 200, reported.text[:500]
        assert "Đã gửi báo cáo kèm thư gốc đến" in reported.text, reported.text[:2000]
    # Both letters reached her, and no header of theirs was split by the CR or CRLF.
    with imaplib.IMAP4_SSL("127.0.0.1", served.port("imaps"), ssl_context=client_tls()) as imap:
        imap.login(anh, PASSWORD)
        imap.select("INBOX", readonly=True)
        _status, found = imap.search(None, "ALL")
        numbers = found[0].split()
        assert len(numbers) == 2
        for number in numbers:
            _status, data = imap.fetch(number, "(BODY[])")
            whole = data[0][1]
            assert b"\nBcc:" not in whole and b"\rBcc:" not in whole
    assert served.alive()
