"""Header fields: encoded words, dates, address lists (`mail.headers`, `mail.addresses`), the
envelope built from them, MIME parameters with RFC 2231 continuations (`mail.params`), and the
strict base64 / quoted-printable decoders of BINARY (`mail.decode`).

Each input is read as header lines; every value goes through every parser. None of them may raise
except the decoders, whose documented answer is `DecodeError`.
"""

from __future__ import annotations

import contextlib

from fuzz.engine import Target
from hopthu.mail import envelope_imap
from hopthu.mail.addresses import parse_addresses
from hopthu.mail.decode import DecodeError, decode_base64, decode_qp
from hopthu.mail.envelope import build_envelope, subject_text
from hopthu.mail.headers import decode_words, parse_date, to_text
from hopthu.mail.params import decode_value, parse_params
from hopthu.mail.rfc822 import Rfc822

SEEDS: tuple[bytes, ...] = (
    b"From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBNaW5o?= <nvminh@cantho.gov.vn>",
    b'To: "Ban, S\xe1\xbb\x9f" <ban@example.org>, undisclosed-recipients:;, (c (nested) \\) ) x@[127.0.0.1]',
    b'Cc: group: a@b, "q\\"uoted"@c;, <@route,@r2:d@e>, =?iso-8859-1?q?Fran=E7ois?= <f@g>',
    b"Subject: =?utf-8?q?C=C3=B4ng_v=C4=83n?= =?utf-8?B?IHPhu5E=?= =?windows-1258?q?x?=",
    b"Date: Mon, 02 Mar 2026 08:30:00 +0700 (ICT)",
    b"Date: 2 Mar 26 8:30 GMT",
    b'Content-Type: text/plain; charset="utf-8"; name*0*=utf-8\'\'C%C3%B4ng; name*1=" v\xc4\x83n.pdf"',
    b"Content-Disposition: attachment; filename*=windows-1258'vi'B%E1n.doc; size=1234",
    b"Content-Transfer-Encoding: base64\r\n\r\nQ8O0bmcgdsSDbg==",
    b"X-QP: C=F4ng v=E3n=\r\n s=F4 =3D =\r\n",
    b"Message-ID: <1.2@example.org>\r\nIn-Reply-To: <a@b> <c@d>\r\nReply-To: <>",
)
TOKENS = (
    b"=?", b"?=", b"=?utf-8?b?", b"=?utf-8?q?", b"=?x-unknown?q?", b"?b?", b"?q?", b"==", b"=3D", b"=\r\n",
    b"*0*=", b"*1=", b"''", b"%C3%", b"(", b")", b"\\", b'"', b"<", b">", b"@", b":", b";", b",", b"[", b"]",
    b"+0700", b"Mon, ", b"GMT", b"\r\n ", b"\r\n\t",
)  # fmt: skip

_CHARSETS = (None, "utf-8", "windows-1258", "iso-2022-jp", "x-unknown", "utf-7", "\0")


def run(data: bytes) -> None:
    fields: list[tuple[bytes, bytes]] = []
    for number, line in enumerate(data.split(b"\r\n")[:32]):
        name, _, value = line.partition(b":")
        value = value.strip() or line
        decode_words(value)
        parse_date(value)
        parse_addresses(value)
        to_text(value, _CHARSETS[number % len(_CHARSETS)])
        params = parse_params(Rfc822(value))[0]
        for key, param in params[:16]:
            decode_value(key, param)
        for decoder in (decode_base64, decode_qp):
            with contextlib.suppress(DecodeError):
                decoder(value)
        fields.append((name.strip().lower() or b"subject", value))
    for header in (b"from", b"subject", b"in-reply-to"):
        fields.append((header, data[:2000]))
    envelope = build_envelope(fields)
    envelope_imap(envelope)
    subject_text(envelope)


def target() -> Target:
    return Target("header_parsers", run, SEEDS, TOKENS, (), max_len=16 * 1024)
