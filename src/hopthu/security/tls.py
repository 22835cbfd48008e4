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
import logging
import ssl
from pathlib import Path

from hopthu.errors import HopThuError

log = logging.getLogger("hopthu.tls")


class CertificateUnusable(HopThuError):
    def __init__(self, cert: Path, key: Path, reason: str) -> None:
        super().__init__(
            f"Không dùng được chứng chỉ TLS {cert} với khóa {key}: {reason}",
            f"Cannot use the TLS certificate {cert} with the key {key}: {reason}",
            code="tls",
        )


def load_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context holding this certificate chain and key (TLS 1.2 at least), or
    `CertificateUnusable` saying why not."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as error:
        raise CertificateUnusable(cert, key, f"không có tệp / no such file: {error.filename}") from None
    except PermissionError as error:
        raise CertificateUnusable(cert, key, f"không đọc được / not readable: {error.filename}") from None
    except ssl.SSLError as error:
        reason = error.reason or str(error)
        if "KEY_VALUES_MISMATCH" in reason.upper():
            reason = "khóa không khớp chứng chỉ / the key does not match the certificate"
        raise CertificateUnusable(cert, key, reason) from None
    except OSError as error:
        raise CertificateUnusable(cert, key, error.strerror or str(error)) from None
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
