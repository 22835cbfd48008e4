"""Seed messages: the golden MIME corpus beside the checkout when it is there, else a few of our own.

The corpus (`shared/corpus/mime/*.eml`, found by walking up from this folder, or named by
`HOPTHU_FUZZ_CORPUS`) is read in place, never copied into the repository.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

BUILT_IN: tuple[bytes, ...] = (
    b"From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBNaW5o?= <nvminh@cantho.gov.vn>\r\n"
    b'To: undisclosed-recipients:;, "Ban, S\xe1\xbb\x9f" <ban@example.org>, (comment) x@[127.0.0.1]\r\n'
    b"Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?B?Q8O0bmcgdsSDbg==?= tail\r\n"
    b"Date: Mon, 02 Mar 2026 08:30:00 +0700 (ICT)\r\nMessage-ID: <1.2@example.org>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\nKinh gui\r\n",
    b'From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=_outer"\r\n\r\npreamble\r\n'
    b"--=_outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n"
    b"Content-Type: text/plain; charset=windows-1258\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"C=F4ng v=E3n=\r\n s=F4=\r\n\r\n--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p style="background:url(http://x)">C\xc3\xb4ng <img src="http://t/x.gif"><script>x</script></p>\r\n'
    b"--inner--\r\n--=_outer\r\n"
    b"Content-Type: application/pdf; name*0*=utf-8''V%C4%83n; name*1=\" b\xe1n.pdf\"\r\n"
    b'Content-Disposition: attachment; filename="v.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"JVBERi0xLjQK\r\nJSVFT0YK\r\n--=_outer\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nContent-Type: text/plain\r\n\r\nenclosed\r\n--=_outer--\r\nepilogue\r\n",
    b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"PGEgaHJlZj0iamF2YXNjcmlwdDphbGVydCgxKSI+eDwvYT48aW1nIHNyYz0iY2lkOmFiYyI+\r\n",
    b"Subject: no body",
    b'Content-Type: multipart/related; boundary=""\r\n\r\n--\r\n\r\n----\r\n',
)


def corpus_folder() -> Path | None:
    named = os.environ.get("HOPTHU_FUZZ_CORPUS")
    if named:
        return Path(named) if Path(named).is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "mime"
        if candidate.is_dir():
            return candidate
    return None


@functools.cache
def messages(limit: int = 400, max_size: int = 256 * 1024) -> tuple[bytes, ...]:
    """The built-in seeds, then up to `limit` corpus messages no larger than `max_size`."""
    found = list(BUILT_IN)
    folder = corpus_folder()
    if folder is not None:
        for path in sorted(folder.glob("*.eml"))[:limit]:
            if path.stat().st_size <= max_size:
                found.append(path.read_bytes())
    return tuple(found)
