"""How fast `hopthu.mail.parse` reads a message, beside the standard library's `email` package.

Run: `.venv/bin/python bench/parse.py [--seconds 2]`. The messages are built here, so nothing
outside the repository is needed: a 4 KB plain letter, a 70 KB letter with one base64 attachment,
and a 1 MB circular (HTML body, a PDF-like attachment) of the kind sent to every agency at once.
Each is parsed repeatedly for about `--seconds`; messages per second and MB per second are printed
for `parse` (which includes BODYSTRUCTURE-ready structure, envelope, attachments and search text)
and for `email.message_from_bytes(policy=email.policy.default)` (which only splits the message).
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import random
import time
from collections.abc import Callable

from hopthu.mail import canonical, parse

_HEADER = (
    "Received: from mx.can-tho.gov.vn (mx.can-tho.gov.vn [203.0.113.7])\r\n"
    "\tby mail.can-tho.gov.vn with ESMTPS id 4XyZ1k2m3n; Mon, 3 Mar 2025 09:15:02 +0700\r\n"
    "From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBNaW5o?= <minh.nv@stnmt.cantho.gov.vn>\r\n"
    "To: =?UTF-8?Q?Tr=E1=BA=A7n_Th=E1=BB=8B_Lan?= <lan.tt@ubnd.cantho.gov.vn>,\r\n"
    " phong.hc@ubnd.cantho.gov.vn\r\n"
    "Cc: vanthu@stnmt.cantho.gov.vn\r\n"
    "Subject: =?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDEyMy9TVE5NVC1WUCB24buBIHZp4buHYyBi4bqjbyB24buH?=\r\n"
    " =?UTF-8?B?IG3DtGkgdHLGsOG7nW5n?=\r\n"
    "Date: Mon, 03 Mar 2025 09:15:00 +0700\r\n"
    "Message-ID: <20250303091500.4821@stnmt.cantho.gov.vn>\r\n"
    "MIME-Version: 1.0\r\n"
)
_WORDS = (
    "công",
    "văn",
    "sở",
    "tài",
    "nguyên",
    "môi",
    "trường",
    "thành",
    "phố",
    "cần",
    "thơ",
    "báo",
    "cáo",
    "kế",
    "hoạch",
    "triển",
    "khai",
    "nhiệm",
    "vụ",
    "năm",
    "quận",
    "huyện",
    "phường",
    "xã",
    "ủy",
    "ban",
    "nhân",
    "dân",
    "đề",
    "nghị",
)


def _text(rng: random.Random, size: int) -> str:
    lines, line, total = [], [], 0
    while total < size:
        word = rng.choice(_WORDS)
        line.append(word)
        total += len(word.encode()) + 1
        if len(line) == 12:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\r\n".join(lines) + "\r\n"


def _base64(payload: bytes) -> str:
    encoded = base64.b64encode(payload).decode()
    return "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\r\n"


def plain_4k(rng: random.Random) -> bytes:
    return (
        _HEADER + "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + _text(rng, 3000)
    ).encode()


def attachment_70k(rng: random.Random) -> bytes:
    return (
        _HEADER + 'Content-Type: multipart/mixed; boundary="=_b1"\r\n\r\n'
        "--=_b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        + _text(rng, 2000)
        + '--=_b1\r\nContent-Type: application/pdf; name="=?UTF-8?B?Q8O0bmcgdsSDbi5wZGY=?="\r\n'
        "Content-Disposition: attachment; filename*=UTF-8''C%C3%B4ng%20v%C4%83n.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _base64(rng.randbytes(49_000)) + "--=_b1--\r\n"
    ).encode()


def circular_1m(rng: random.Random) -> bytes:
    html = (
        "<html><body>" + "".join(f"<p>{p}</p>" for p in _text(rng, 20_000).split("\r\n")) + "</body></html>"
    )
    pdf = b"%PDF-1.4\n" + rng.randbytes(740_000) + b"\n%%EOF\n"
    return (
        _HEADER + 'Content-Type: multipart/mixed; boundary="=_c1"\r\n\r\n'
        '--=_c1\r\nContent-Type: multipart/alternative; boundary="=_c2"\r\n\r\n'
        "--=_c2\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        + _text(rng, 20_000)
        + "--=_c2\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + html + "\r\n--=_c2--\r\n\r\n"
        "--=_c1\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="thong-tu-so-01-2025.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + _base64(pdf) + "--=_c1--\r\n"
    ).encode()


def _rate(fn: Callable[[bytes], object], data: bytes, seconds: float) -> tuple[float, float]:
    fn(data)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(data)
        count += 1
    per_second = count / elapsed
    return per_second, per_second * len(data) / 1e6


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = options.parse_args()
    rng = random.Random(20250303)
    kinds = {
        "4 KB plain": plain_4k(rng),
        "70 KB + base64 attachment": attachment_70k(rng),
        "1 MB circular + PDF": circular_1m(rng),
    }
    stdlib = lambda data: email.message_from_bytes(data, policy=email.policy.default)  # noqa: E731
    print(f"{'message':28} {'size':>9}  {'hopthu.mail.parse':>24}  {'email (policy.default)':>24}")
    for label, data in kinds.items():
        data = canonical(data)
        ours = _rate(parse, data, args.seconds)
        theirs = _rate(stdlib, data, args.seconds)
        print(
            f"{label:28} {len(data):>9,}  {ours[0]:>9,.0f} msg/s {ours[1]:>6,.1f} MB/s"
            f"  {theirs[0]:>9,.0f} msg/s {theirs[1]:>6,.1f} MB/s"
        )


if __name__ == "__main__":
    main()
