"""The server's TLS certificate, one for every listener, renewed without a restart (R13.5).

Every TLS listener (SMTP MX, submission and submissions, IMAP, POP3, HTTPS), implicit or STARTTLS,
is given the same `ServerTls.context`. A renewed certificate is read by `reload` (SIGHUP, see
`server.Server.handle_signals`): the new pair is loaded into a fresh context, and the listeners'
context hands each new handshake to it from its SNI callback, which OpenSSL calls on every
ClientHello, with or without a server name (`SSLObject.context` may be changed there: it is how a
server picks a certificate per name). Connections already open keep the context they began with;
nothing is dropped. Loading into a fresh context rather than calling `load_cert_chain` again on the
live one matters twice: a pair that fails half-way (a new certificate, then a key that does not
match) would otherwise leave the live context without a usable key, and a certificate of another
key type (RSA after ECDSA) would sit beside the old one instead of replacing it.

A pair that cannot be used (a file missing or unreadable, a key that does not match) stops the start
with a clear error; at a reload it is logged in Vietnamese and English and the certificate in use
stays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from hopthu.errors import HopThuError

log = logging.getLogger("hopthu.tls")


class CertificateUnusable(HopThuError):
    def __init__(self, cert: Path, key: Path, vi: str, en: str) -> None:
        super().__init__(
            f"Không dùng được chứng chỉ TLS {cert} với khóa {key}: {vi}",
            f"Cannot use the TLS certificate {cert} with the key {key}: {en}",
            code="tls",
        )


def _read(cert: Path, key: Path, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateUnusable(cert, key, f"không có tệp {path}", f"no such file {path}") from None
    except PermissionError:
        raise CertificateUnusable(cert, key, f"không đọc được {path}", f"{path} is not readable") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CertificateUnusable(cert, key, f"{path}: {reason}", f"{path}: {reason}") from None


def _check_files(cert: Path, key: Path) -> None:
    """What is wrong with the files, said precisely (OpenSSL would only say "PEM lib")."""
    try:
        chain = x509.load_pem_x509_certificates(_read(cert, key, cert))
    except ValueError:
        chain = []
    if not chain:
        raise CertificateUnusable(
            cert, key, f"{cert} không chứa chứng chỉ PEM nào", f"{cert} holds no PEM certificate"
        )
    try:
        serialization.load_pem_private_key(_read(cert, key, key), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CertificateUnusable(
            cert,
            key,
            f"{key} không chứa khóa riêng PEM không đặt mật khẩu",
            f"{key} holds no PEM private key without a passphrase",
        ) from None
    if chain[0].not_valid_after_utc < dt.datetime.now(dt.UTC):
        log.warning(
            "chứng chỉ TLS %s đã hết hạn / the TLS certificate %s has expired (%s)",
            cert,
            cert,
            chain[0].not_valid_after_utc.isoformat(),
        )


def load_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context holding this certificate chain and key (TLS 1.2 at least), or
    `CertificateUnusable` saying why not."""
    _check_files(cert, key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error.reason or error).upper():
            raise CertificateUnusable(
                cert, key, "khóa không khớp chứng chỉ", "the key does not match the certificate"
            ) from None
        reason = str(error.reason or error)
        raise CertificateUnusable(cert, key, reason, reason) from None
    except OSError as error:  # the files changed between the check and the load
        reason = error.strerror or type(error).__name__
        raise CertificateUnusable(cert, key, reason, reason) from None
    return context


class ServerTls:
    """The listeners' one TLS context, whose handshakes use the certificate loaded last."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key
        self.context = load_context(cert, key)
        self.current = self.context
        self.context.sni_callback = self._choose
        self._reloading = asyncio.Lock()

    def _choose(self, ssl_object: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> None:
        """OpenSSL's servername callback, at each ClientHello: the newest certificate answers."""
        current = self.current
        if current is not context:
            ssl_object.context = current

    async def reload(self) -> bool:
        """Read the certificate and key files again; new handshakes use them if they are usable,
        else the certificate in use stays and the reason is logged. Whether they were taken. The
        files are read and the pair checked in a thread: the event loop serves meanwhile."""
        async with self._reloading:
            try:
                fresh = await asyncio.to_thread(load_context, self.cert, self.key)
            except CertificateUnusable as error:
                log.error("%s; vẫn dùng chứng chỉ cũ / %s; the certificate in use stays", error.vi, error.en)
                return False
            self.current = fresh
            log.info("đã nạp lại chứng chỉ TLS %s / TLS certificate %s reloaded", self.cert, self.cert)
            return True
