"""`hopthu serve`: one asyncio process hosting every listener and worker.

Listeners start after the store is open and migrated. SIGTERM or SIGINT stops accepting connections,
lets messages being accepted finish, ends every session and live page within the configured grace
(`Server.stop`), finishes pending deliveries and closes the store. Each capability adds its listener
in `Server.start`. Every TLS listener shares one context (`security.tls`); SIGHUP reads the
certificate and key again, for new handshakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable
from typing import Any

import uvicorn
from fastapi import FastAPI
from prometheus_client import ProcessCollector, generate_latest

from hopthu.config import Settings, listen_address
from hopthu.directory.auth import Authenticator
from hopthu.directory.context import DirectoryContext
from hopthu.directory.routing import Router
from hopthu.directory.service import Directory
from hopthu.directory.websessions import WebSessions, idle_limits
from hopthu.errors import HopThuError
from hopthu.imap.listener import close_sessions, start_imap_listeners
from hopthu.imap.session import ImapContext
from hopthu.importing.service import MigrationService
from hopthu.jobs.scheduler import Scheduler
from hopthu.loopwatch import LoopWatch
from hopthu.metrics.listener import MetricsListener
from hopthu.metrics.meters import Meters
from hopthu.metrics.state import Samples, Sources, StateCollector
from hopthu.policy import sending
from hopthu.pop3.listener import Pop3Listeners, start_pop3_listeners
from hopthu.protection.inspector import Inspector
from hopthu.protection.quarantine import Quarantine
from hopthu.protection.wiring import build as protection_engines
from hopthu.protection.wiring import lock_alert, operator_alert
from hopthu.security.connections import ConnectionLimits
from hopthu.security.tls import ServerTls
from hopthu.services import Services
from hopthu.smtp.dkim import load_key
from hopthu.smtp.dns import Resolver, resolver_for
from hopthu.smtp.handlers import HopThuSMTP, MxHandler, SubmissionHandler
from hopthu.smtp.limits import SendingLimits
from hopthu.smtp.listeners import server_tls, smtp_connection_limits, start_smtp_listeners
from hopthu.smtp.outbound import OutboundQueue
from hopthu.smtp.pipeline import Pipeline
from hopthu.store import Store
from hopthu.store.quarantine import QuarantineStore
from hopthu.web.app import create_app
from hopthu.web.connlimit import limited_http_protocol
from hopthu.web.plainhttp import PlainHttp
from hopthu.workers import WORKER_NUMBER

log = logging.getLogger("hopthu.server")


class _EmbeddedUvicorn(uvicorn.Server):
    """Uvicorn inside our loop: the process owns the signals, not the HTTP server."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    # uvicorn >= 0.29; its own is a generator context manager, any context manager will do
    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


def listen_socket(host: str, port: int, role: str) -> socket.socket:
    """A bound, listening socket (port 0 picks a free one), or a clear error if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise HopThuError(
            f"Không mở được cổng {role} {host}:{port}: {error.strerror}",
            f"Cannot listen for {role} on {host}:{port}: {error.strerror}",
            code="listen",
        ) from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def listener_sockets(settings: Settings) -> dict[str, socket.socket]:
    """Every listener's socket, bound and listening, by role."""
    bind = settings.server.bind
    wanted = {
        "http": settings.server.http_port,
        "https": settings.server.https_port,
        "smtp": settings.smtp.mx_port,
        "submission": settings.smtp.submission_port,
        "submissions": settings.smtp.submissions_port,
        "imap": settings.imap.port,
        "imaps": settings.imap.tls_port,
        "pop3": settings.pop3.port,
        "pop3s": settings.pop3.tls_port,
    }
    # -1 turns a listener off: a mail-reading one (a node that only sends, say), or one of the web's two
    return {role: listen_socket(bind, port, role) for role, port in wanted.items() if port >= 0}


class Server:
    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        sockets: dict[str, socket.socket] | None = None,
    ) -> None:
        """`sockets`: listeners already bound (`listener_sockets`), which `hopthu serve --workers`
        shares between its processes; by default `start` binds its own."""
        self.settings = settings
        self._sockets = sockets
        dns_file = settings.path(settings.smtp.dns_file) if settings.smtp.dns_file else None
        self.resolver = resolver or resolver_for(dns_file)
        self.services: Services | None = None
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self.tls: ServerTls | None = None
        self._web: list[tuple[_EmbeddedUvicorn, asyncio.Task[None]]] = []  # plain HTTP, HTTPS
        self._web_app: FastAPI | None = None
        self._reloads: set[asyncio.Task[bool]] = set()
        self._outbound_task: asyncio.Task[None] | None = None
        self._traffic_task: asyncio.Task[None] | None = None
        self._dmarc_task: asyncio.Task[None] | None = None
        self._jobs_task: asyncio.Task[None] | None = None
        self._loopwatch_task: asyncio.Task[None] | None = None
        self._smtp_sessions: set[HopThuSMTP] = set()
        self.stopping = asyncio.Event()
        self.imap: ImapContext | None = None
        self.pop3: Pop3Listeners | None = None
        self.meters = Meters.for_server()  # this server's counters, in a registry of its own
        self.metrics: MetricsListener | None = None
        self.metrics_port: int | None = None

    async def start(self) -> None:
        # The database driver and blob writes run in threads that hand results back to this loop;
        # Python's default 5 ms GIL switch interval would add up to 5 ms to every such hand-off.
        sys.setswitchinterval(0.0005)
        # A mailbox listing makes tens of thousands of short-lived objects (UIDs, rows); with the
        # default thresholds the cyclic collector would walk the whole heap many times a second.
        # Reference counting frees them; the collector only has cycles to find, rarely.
        gc.set_threshold(50_000, 20, 20)
        settings = self.settings
        self.tls = server_tls(settings)  # a certificate that cannot be used stops the start here
        store = await Store.open(settings)
        ctx = DirectoryContext(store, settings)
        router = Router(ctx)
        dkim_path = settings.path(settings.smtp.dkim_key)
        pipeline = Pipeline(
            store,
            router,
            settings,
            self.resolver,
            dkim_key=load_key(dkim_path) if dkim_path.exists() else None,
        )
        directory = Directory(ctx)
        rspamd, spam, virus, engines = protection_engines(settings.protection)
        pipeline.inspector = Inspector(
            settings.protection,
            self.resolver,
            spam=spam,
            virus=virus,
            alert=operator_alert(
                lambda: directory.roles.holders("operator"), pipeline.tell, settings.hostname
            ),
        )
        # The city's lists for the inspector, each person's for delivery; outbound spam is held.
        pipeline.inspector.rules = directory.sender_rules
        pipeline.personal_rules = directory.sender_rules
        quarantine = Quarantine(QuarantineStore(store.db, store.blobs, ctx.now), directory, pipeline)
        pipeline.holding = quarantine
        pipeline.meters = self.meters
        authenticator = Authenticator(ctx, tell=pipeline.tell)
        authenticator.meters = self.meters
        await authenticator.dummy_hash()  # made before the first unknown login, not during it
        web_sessions = WebSessions(store.db, store.mail.clock, idle_limits(settings.policy))
        self.services = Services(settings, store, directory, router, authenticator, pipeline, web_sessions)
        self.services.rspamd = rspamd
        self.services.engines = engines
        self.services.quarantine = quarantine
        self.services.migration = MigrationService(store, directory.accounts)
        self.services.meters = self.meters
        self.services.loopwatch = LoopWatch(warn_ms=settings.limits.loop_stall_warning_ms)
        self._loopwatch_task = asyncio.create_task(self.services.loopwatch.run())
        connections = self.services.connections = connection_limits(settings)

        sockets = self._sockets or listener_sockets(settings)
        self.ports = {role: sock.getsockname()[1] for role, sock in sockets.items()}
        self.services.ports = self.ports

        limits = SendingLimits(
            sending.Limits(
                per_hour=settings.smtp.limit_per_hour,
                per_day=settings.smtp.limit_per_day,
                hard_per_day=settings.smtp.hard_limit_per_day,
            ),
            accounts=directory.accounts,
            alert=lock_alert(
                lambda: directory.roles.holders("operator"),
                pipeline.tell,
                settings.server.domain,
                settings.server.web_url,
            ),
        )
        self.services.limits = limits
        self.submission_handler = SubmissionHandler(pipeline, router, authenticator, limits)
        self._servers = await start_smtp_listeners(
            settings,
            MxHandler(pipeline, router),
            self.submission_handler,
            {
                "mx": sockets["smtp"],
                "submission": sockets["submission"],
                "submissions": sockets["submissions"],
            },
            connections,
            live=self._smtp_sessions,
            tls=self.tls.context,
        )
        self.outbound = OutboundQueue(store, settings, self.resolver, send_notice=pipeline.notify)
        pipeline.on_queued = self.outbound.wake
        self.outbound.meters = self.meters
        self._outbound_task = asyncio.create_task(self.outbound.run())
        self._traffic_task = asyncio.create_task(pipeline.traffic.run())
        self._dmarc_task = asyncio.create_task(pipeline.dmarc.run())
        self.services.scheduler = Scheduler(self.services)
        self.meters.know_jobs(self.services.scheduler.jobs)
        self._jobs_task = asyncio.create_task(self.services.scheduler.loop())
        self.imap = ImapContext(settings, store, authenticator, self.tls.context)
        self._servers += await start_imap_listeners(
            self.imap,
            {role: sockets[role] for role in ("imap", "imaps") if role in sockets},
            connections["imap"],
        )
        self.pop3 = await start_pop3_listeners(
            settings,
            authenticator,
            store,
            {role: sockets[role] for role in ("pop3", "pop3s") if role in sockets},
            connections["pop3"],
            tls=self.tls.context,
        )
        await self._start_http(sockets.get("http"), sockets.get("https"))
        await self._start_metrics()

    async def _start_metrics(self) -> None:
        """`/metrics` on `metrics.listen` (docs/monitoring.md), unless that is empty."""
        assert self.services is not None and self.imap is not None and self.pop3 is not None
        settings = self.settings
        if not settings.metrics.listen:
            return
        host, port = listen_address(settings.metrics.listen)
        worker = os.environ.get(WORKER_NUMBER, "")
        if port and worker.isdigit():  # `--workers`: each process counts its own, on its own port
            port += int(worker)
        sock = listen_socket(host, port, "metrics")
        self.metrics_port = sock.getsockname()[1]
        store = self.services.store
        samples = Samples(
            store, settings.data_dir, settings.path(settings.server.tls_cert), settings.metrics.slow_seconds
        )
        imap, pop3 = self.imap, self.pop3.service
        connections = self.services.connections
        sources = Sources(
            connections=connections,
            commands={
                "smtp": lambda: connections["mx"].commands,
                "submission": lambda: connections["submission"].commands,
                "imap": lambda: imap.commands,
                "pop3": lambda: pop3.commands if pop3 is not None else 0,
                "web": lambda: connections["http"].commands,
            },
            loopwatch=self.services.loopwatch,
            pool_use=store.db.pool_use,
            samples=samples,
        )
        registry = self.meters.registry
        registry.register(StateCollector(sources))
        ProcessCollector(registry=registry)

        async def render() -> bytes:
            await samples.refresh()
            return generate_latest(registry)

        self.metrics = MetricsListener(render)
        try:
            await self.metrics.start(sock)
        except BaseException:
            sock.close()
            raise

    async def _start_http(self, plain: socket.socket | None, secure: socket.socket | None) -> None:
        """The web app on HTTPS (the process's TLS context) and on plain HTTP, which redirects to
        HTTPS when both are on (`web.plainhttp`); one uvicorn server each, sharing one app."""
        assert self.services is not None and self.tls is not None
        app = self._web_app = create_app(self.services)
        if secure is not None:
            context = self.tls.context
            await self._serve_web(app, secure, tls=lambda config, default: context)
        if plain is not None:
            https_port = secure.getsockname()[1] if secure is not None else None
            await self._serve_web(PlainHttp(app, self.settings, https_port), plain, tls=None)

    async def _serve_web(self, app: Any, sock: socket.socket, *, tls: Any) -> None:
        assert self.services is not None
        config = uvicorn.Config(
            app,
            http=limited_http_protocol(
                self.services.connections["http"], self.settings.limits.prelogin_timeout_seconds
            ),
            log_level="warning",
            access_log=False,
            # Uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 itself; who the client
            # is behind a proxy is decided by `server.trusted_proxies` only (`web.client`).
            proxy_headers=False,
            lifespan="off",
            # Browsers keep idle connections for minutes; closing them after uvicorn's 5 s means a
            # new TCP (and TLS) handshake per click, and a close racing the next request.
            timeout_keep_alive=75,
            # answers under way get the grace period less a second, then uvicorn cancels them (`stop`)
            timeout_graceful_shutdown=max(int(self.settings.server.shutdown_grace_seconds) - 1, 1),
            # the listeners' one context (`security.tls`), whose certificate SIGHUP renews
            ssl_context_factory=tls,
        )
        server = _EmbeddedUvicorn(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._web.append((server, task))
        while not server.started:
            if task.done():
                await task
                raise OSError("the HTTP listener stopped while starting")
            await asyncio.sleep(0.01)

    def urls(self) -> dict[str, str]:
        host = self.settings.server.bind
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        schemes = {
            "http": "http",
            "https": "https",
            "smtp": "smtp",
            "submission": "smtp",
            "submissions": "smtps",
            "imap": "imap",
            "imaps": "imaps",
            "pop3": "pop",
            "pop3s": "pops",
        }
        urls = {
            role: f"{schemes[role]}://{shown}:{port}" + ("/" if role in ("http", "https") else "")
            for role, port in self.ports.items()
        }
        if self.metrics_port is not None:
            host, _ = listen_address(self.settings.metrics.listen)
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            urls["metrics"] = f"http://{f'[{host}]' if ':' in host else host}:{self.metrics_port}/metrics"
        return urls

    async def stop(self) -> None:
        """Stop within the grace period (`server.shutdown_grace_seconds`), whatever is connected.

        The listeners close first. Then, side by side and against one deadline: IMAP and POP3
        clients are told goodbye, live pages (server-sent events) end, HTTP answers under way
        finish, SMTP sessions between transactions get a 421 and those in one may finish it (its
        message is committed and answered). What is still open at the deadline is dropped: a message
        not yet answered 250 is its sender's to send again. Then the workers stop and the store
        closes. Nothing here waits on a client, so a client that does not read cannot hold the
        process."""
        loop = asyncio.get_running_loop()
        grace = self.settings.server.shutdown_grace_seconds
        deadline = loop.time() + grace
        for server in self._servers:
            server.close()
        if self.metrics is not None:
            await self.metrics.close()
        closing: list[Awaitable[None]] = [self._stop_smtp(deadline), self._stop_http(grace)]
        if self.imap is not None:
            closing.append(close_sessions(self.imap, grace))
        if self.pop3 is not None:
            closing.append(self.pop3.close(grace))
        await asyncio.gather(*closing, return_exceptions=True)
        if self.services is not None:
            remaining = max(deadline - loop.time(), 0.5)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):  # notices and replies being sent, if any
                    await self.services.pipeline.auto_replies.wait()
                    await self.services.pipeline.former_notices.wait()
                    await self.services.pipeline.helpdesk.wait()
        for task in (
            self._jobs_task,
            self._outbound_task,
            self._traffic_task,
            self._dmarc_task,
            self._loopwatch_task,
        ):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.services is not None:
            if self.services.rspamd is not None:
                await self.services.rspamd.close()
            if self.services.pipeline.mail_log is not None:
                await self.services.pipeline.mail_log.close()  # the refused messages' last entries
            await self.services.directory.ctx.access_log.close()  # the last second's sign-ins
            await self.services.store.close()

    async def _stop_smtp(self, deadline: float) -> None:
        """SMTP sessions end as their transactions do (or at `deadline`); messages being accepted
        are committed first."""
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            for session in list(self._smtp_sessions):
                if session.wind_down():
                    self._smtp_sessions.discard(session)
            accepting = self.services is not None and self.services.pipeline.active
            if not self._smtp_sessions and not accepting:
                return
            await asyncio.sleep(0.05)
        for session in list(self._smtp_sessions):
            session.drop()

    async def _stop_http(self, grace: float) -> None:
        """Live pages end now; answers under way have the grace period; then every connection that
        uvicorn still holds is dropped (one whose client stopped reading would wait for ever)."""
        if not self._web or self._web_app is None:
            return
        state = self._web_app.state
        state.closing.set()
        await state.imports.stop()
        if self.services is not None and self.services.migration is not None:
            await self.services.migration.close()  # each run pauses after its batch
        for server, _ in self._web:
            server.should_exit = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.gather(*(task for _, task in self._web), return_exceptions=True)
        for server, task in self._web:
            for connection in list(server.server_state.connections):
                transport = getattr(connection, "transport", None)  # None before connection_made
                if transport is not None:
                    transport.abort()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def handle_signals(self) -> None:
        """SIGTERM and SIGINT ask for a clean stop, SIGHUP a certificate reload (installed before
        start, so none is missed)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload_soon)

    def _reload_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload_certificate())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload_certificate(self) -> bool:
        """Read the TLS certificate and key again for every listener (SIGHUP); open connections keep
        theirs. False, with the reason logged, when the new pair cannot be used or nothing listens
        yet: the certificate in use stays."""
        if self.tls is None:
            log.warning("SIGHUP trước khi máy chủ chạy: bỏ qua / SIGHUP before the server started: ignored")
            return False
        return await self.tls.reload()

    async def run_until_stopped(self) -> None:
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping")
            await self.stop()


def connection_limits(settings: Settings) -> dict[str, ConnectionLimits]:
    """One set of limits per listener kind; the two ports of a protocol (e.g. 143 and 993) share one."""
    limits = settings.limits
    return {
        **smtp_connection_limits(settings),
        "imap": ConnectionLimits(
            "imap", total=limits.imap_connections, per_address=limits.imap_connections_per_address
        ),
        "pop3": ConnectionLimits(
            "pop3", total=limits.pop3_connections, per_address=limits.pop3_connections_per_address
        ),
        "http": ConnectionLimits(
            "http", total=limits.http_connections, per_address=limits.http_connections_per_address
        ),
    }


# A command-line port option -> (settings section, key); the rest are [smtp] keys of the same name.
_PORTS = {
    "http_port": ("server", "http_port"),
    "https_port": ("server", "https_port"),
    "imap_port": ("imap", "port"),
    "imaps_port": ("imap", "tls_port"),
    "pop3_port": ("pop3", "port"),
    "pop3s_port": ("pop3", "tls_port"),
}


def with_ports(settings: Settings, **ports: int | None) -> Settings:
    """Settings with the listener ports given on the command line (None keeps the configured one)."""
    changes: dict[str, dict[str, int]] = {"server": {}, "smtp": {}, "imap": {}, "pop3": {}}
    for option, port in ports.items():
        if port is not None:
            section, key = _PORTS.get(option, ("smtp", option))
            changes[section][key] = port
    return dataclasses.replace(
        settings,
        **{name: dataclasses.replace(getattr(settings, name), **keys) for name, keys in changes.items()},
    )
