"""Our DKIM key and the signature on every message we send (R3.2, RFC 6376).

The key is RSA 2048 (RFC 8301 §3.2), a PEM file in the data folder readable by its owner only;
`hopthu init` makes it and `hopthu dkim show` prints the DNS record to publish for it.

Signing uses dkimpy's header canonicalization (RFC 6376 §3.4.2), the code that checks inbound
signatures, and our own body canonicalization (§3.4.4, C-speed passes instead of dkimpy's regexes);
the RSA signature is computed by `cryptography` (OpenSSL): dkimpy's own RSA is pure Python, about
13 ms a signature against about 1.5 ms for the whole signature here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import time
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from dkim.canonicalization import Relaxed

from hopthu.errors import Conflict, HopThuError

KEY_BITS = 2048
# RFC 6376 §5.4.1: the fields whose change alters the message's meaning. From is signed once more
# than it occurs ("oversigned", §8.15), so a second From: added on the way breaks the signature.
SIGNED_FIELDS = (
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "reply-to",
    "in-reply-to",
    "references",
)
_LINE = 78  # RFC 5322 §2.1.1 recommended line length
_WSP_RUN = re.compile(rb"\t[ \t]*| [ \t]+")  # WSP runs other than a lone SP


def generate_key(path: Path) -> None:
    """Write a new RSA 2048 private key (PKCS #8 PEM, mode 0600); never over an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(
            f"Khóa DKIM {path} đã có; xóa nó trước nếu thật sự muốn thay (phải công bố lại DNS)",
            f"The DKIM key {path} exists; remove it first to replace it (the DNS record must follow)",
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_key(path: Path) -> bytes:
    """The PEM bytes of the key, or a bilingual error telling the operator to run `hopthu init`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise HopThuError(
            f"Chưa có khóa DKIM {path}: hãy chạy 'hopthu init'",
            f"No DKIM key at {path}: run 'hopthu init'",
            code="config",
        ) from None


@functools.lru_cache(maxsize=4)
def _private_key(key_pem: bytes) -> rsa.RSAPrivateKey:
    """Parsing and checking a key costs more than a signature: done once per key."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise HopThuError(f"Khóa DKIM không đọc được: {error}", f"Unreadable DKIM key: {error}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise HopThuError("Khóa DKIM phải là khóa RSA", "The DKIM key must be an RSA key")
    return key


def dns_record(key_pem: bytes, selector: str, domain: str) -> tuple[str, str]:
    """The TXT record to publish (RFC 6376 §3.6.1): its name and its value."""
    public = _private_key(key_pem).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"{selector}._domainkey.{domain}", f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def _fold(words: list[str]) -> str:
    """Words joined by spaces, a fold (CRLF SP) before any word that would pass the line length."""
    lines = ["DKIM-Signature:"]
    for word in words:
        if len(lines[-1]) + 1 + len(word) > _LINE and lines[-1] != "DKIM-Signature:":
            lines.append("")
        lines[-1] += " " + word
    return "\r\n".join(lines)


def _header_list(names: list[str]) -> list[str]:
    """h= split into words at its colons (FWS may stand around them, §3.5)."""
    words, current = [], "h="
    for name in names:
        if len(current) + len(name) > 60:
            words.append(current)
            current = ""
        current += name + ":"
    return [*words, current[:-1] + ";"]


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4 for a body with CRLF line endings: runs of WSP become one SP, WSP at line ends
    and empty lines at the end go, a non-empty body ends in CRLF. In C-speed passes (dkimpy's regexes
    take seconds on a 40 MB message)."""
    if b"\t" in body or b"  " in body:
        body = _WSP_RUN.sub(b" ", body)
    body = body.replace(b" \r\n", b"\r\n").rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def sign(data: bytes, *, selector: str, domain: str, key_pem: bytes, now: float | None = None) -> bytes:
    """The `DKIM-Signature:` field (CRLF-terminated) to put at the top of `data`, the message in its
    canonical form (CRLF line endings, as stored): rsa-sha256, relaxed/relaxed, signing
    SIGNED_FIELDS as they occur and From once more."""
    key = _private_key(key_pem)
    end = data.find(b"\r\n\r\n")
    header, body = (data, b"") if end < 0 else (data[: end + 2], data[end + 4 :])
    try:
        headers, _ = dkim.rfc822_parse(header)
    except dkim.MessageFormatError as error:
        raise HopThuError(
            f"Không ký DKIM được: phần đầu thư hỏng ({error})",
            f"Cannot DKIM-sign: the message header is broken ({error})",
        ) from None
    present = [name.decode("ascii", "replace").lower() for name, _ in headers]
    if "from" not in present:
        raise HopThuError("Không ký DKIM được: thư không có From:", "Cannot DKIM-sign: no From: field")
    names = [name for name in SIGNED_FIELDS for _ in range(present.count(name))] + ["from"]
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
    timestamp = int(time.time() if now is None else now)
    unsigned = _fold(
        [
            "v=1;",
            "a=rsa-sha256;",
            "c=relaxed/relaxed;",
            f"d={domain};",
            f"s={selector};",
            f"t={timestamp};",
            *_header_list(names),
            f"bh={body_hash};",
        ]
    )
    # §3.7: the selected fields, canonicalized (§3.4.2), then this field with an empty b= and no
    # final CRLF.
    field_value = (unsigned.removeprefix("DKIM-Signature:") + "\r\n b=\r\n").encode()
    signed = dkim.select_headers(Relaxed.canonicalize_headers(headers), [n.encode() for n in names])
    [(sig_name, sig_value)] = Relaxed.canonicalize_headers([[b"DKIM-Signature", field_value]])
    message = b"".join(name + b":" + value for name, value in signed) + sig_name + b":" + sig_value.rstrip()
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    chunks = [signature[i : i + 72] for i in range(0, len(signature), 72)]
    return (unsigned + "\r\n b=" + "\r\n ".join(chunks) + "\r\n").encode()
