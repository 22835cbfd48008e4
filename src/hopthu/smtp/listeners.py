"""The SMTP listeners of `hopthu serve`: MX (STARTTLS offered), submission with STARTTLS (587) and
submission over implicit TLS (465), all on one event loop with the rest of the process.

MX and submission each have their connection limits (submission's shared by 587 and 465); see
`HopThuSMTP` for the 421 answers and the deadline to reach MAIL."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP

from hopthu.config import Settings
from hopthu.security.connections import ConnectionLimits
from hopthu.security.tls import ServerTls
from hopthu.smtp.handlers import HopThuSMTP, MxHandler, SubmissionHandler

IDENT = "Hop Thu ESMTP"


def server_tls(settings: Settings) -> ServerTls:
    """The configured certificate, for every listener of the process (`security.tls`)."""
    return ServerTls(settings.path(settings.server.tls_cert), settings.path(settings.server.tls_key))


def server_tls_context(settings: Settings) -> ssl.SSLContext:
    """A context of the configured certificate, for a listener started on its own."""
    return server_tls(settings).context


async def start_smtp_listeners(
    settings: Settings,
    mx: MxHandler,
    submission: SubmissionHandler,
    sockets: dict[str, socket.socket],
    connections: dict[str, ConnectionLimits] | None = None,
    live: set[HopThuSMTP] | None = None,
    tls: ssl.SSLContext | None = None,
) -> list[asyncio.Server]:
    """One asyncio server per role found in `sockets` ("mx", "submission", "submissions");
    `connections` holds the limits of "mx" and "submission" (made from the settings if absent).
    Every open session is kept in `live` when given, for the server's stop (`HopThuSMTP.wind_down`).
    `tls`: the process's one context (`security.tls`), else one of the configured certificate."""
    loop = asyncio.get_running_loop()
    tls = tls or server_tls_context(settings)
    connections = connections or smtp_connection_limits(settings)
    bounds: dict[str, Any] = {
        "prelogin_timeout": settings.limits.prelogin_timeout_seconds,
        "max_line": settings.smtp.max_line_bytes,
        "live": live,
    }
    common: dict[str, Any] = {
        "hostname": settings.hostname,
        "ident": IDENT,
        "data_size_limit": settings.smtp.max_message_size,
        "enable_SMTPUTF8": True,
        "timeout": 300,
        "command_call_limit": {"*": 100, "MAIL": 10_000, "RCPT": 200_000, "DATA": 10_000, "RSET": 10_000},
    }
    # AUTH is never offered before TLS; HopThuSMTP lifts that per connection on port 465 (already TLS)
    # and, in development only, for loopback clients.
    submit: dict[str, Any] = {
        "auth_required": True,
        "auth_require_tls": True,
        "auth_exclude_mechanism": ["CRAM-MD5"],
    }
    plain_loopback = settings.smtp.allow_plain_auth_on_loopback
    makers: dict[str, tuple[Callable[[], SMTP], ssl.SSLContext | None]] = {
        "mx": (
            lambda: HopThuSMTP(mx, tls_context=tls, connections=connections["mx"], **bounds, **common),
            None,
        ),
        "submission": (
            lambda: HopThuSMTP(
                submission,
                tls_context=tls,
                plain_auth_on_loopback=plain_loopback,
                connections=connections["submission"],
                **bounds,
                **submit,
                **common,
            ),
            None,
        ),
        "submissions": (
            lambda: HopThuSMTP(
                submission,
                implicit_tls=True,
                connections=connections["submission"],
                **bounds,
                **submit,
                **common,
            ),
            tls,
        ),
    }
    servers = []
    for role, sock in sockets.items():
        make, wrap = makers[role]
        # A TLS handshake that never completes is not yet counted: it gets the pre-login time too.
        handshake: dict[str, Any] = {}
        if wrap:
            handshake["ssl_handshake_timeout"] = settings.limits.prelogin_timeout_seconds
        servers.append(await loop.create_server(make, sock=sock, ssl=wrap, **handshake))
    return servers


def smtp_connection_limits(settings: Settings) -> dict[str, ConnectionLimits]:
    limits = settings.limits
    return {
        "mx": ConnectionLimits(
            "smtp", total=limits.mx_connections, per_address=limits.mx_connections_per_address
        ),
        "submission": ConnectionLimits(
            "submission",
            total=limits.submission_connections,
            per_address=limits.submission_connections_per_address,
        ),
    }
