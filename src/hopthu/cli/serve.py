"""`hopthu serve`: start every listener in one process and run until SIGTERM; SIGHUP reads the TLS
certificate again (`security.tls`)."""

from __future__ import annotations

import asyncio
import dataclasses
import faulthandler
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import TypedDict

import typer

from hopthu.cli.common import err, fail, out, settings
from hopthu.config import Settings
from hopthu.errors import HopThuError


class _Range(TypedDict):
    min: int
    max: int


PORT: _Range = {"min": 0, "max": 65535}
# The stop ends every connection within the grace period and then closes the store; past the grace
# and this margin something is stuck (a thread, a task that ignores cancellation): the process ends.
STOP_MARGIN = 15.0


def serve(
    bind: str | None = typer.Option(None, "--bind", help="Địa chỉ lắng nghe / listen address"),
    http_port: int | None = typer.Option(None, "--http-port", **PORT, help="HTTP (web, /healthz)"),
    https_port: int | None = typer.Option(None, "--https-port", **PORT, help="HTTPS (web)"),
    smtp_port: int | None = typer.Option(None, "--smtp-port", **PORT, help="SMTP nhận thư / MX"),
    submission_port: int | None = typer.Option(None, "--submission-port", **PORT, help="Gửi thư, STARTTLS"),
    submissions_port: int | None = typer.Option(None, "--submissions-port", **PORT, help="Gửi thư, TLS"),
    imap_port: int | None = typer.Option(None, "--imap-port", **PORT, help="IMAP, STARTTLS"),
    imaps_port: int | None = typer.Option(None, "--imaps-port", **PORT, help="IMAP, TLS"),
    pop3_port: int | None = typer.Option(None, "--pop3-port", **PORT, help="POP3, STLS"),
    pop3s_port: int | None = typer.Option(None, "--pop3s-port", **PORT, help="POP3, TLS"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Số tiến trình (chỉ PostgreSQL) / processes sharing the ports (PostgreSQL)",
    ),
) -> None:
    """Chạy máy chủ / Run the server: every listener in one process until SIGTERM."""
    from hopthu.server import Server, with_ports  # the listeners' libraries load only for this command

    config = with_ports(
        settings(),
        http_port=http_port,
        https_port=https_port,
        mx_port=smtp_port,
        submission_port=submission_port,
        submissions_port=submissions_port,
        imap_port=imap_port,
        imaps_port=imaps_port,
        pop3_port=pop3_port,
        pop3s_port=pop3s_port,
    )
    if bind is not None:
        config = dataclasses.replace(config, server=dataclasses.replace(config.server, bind=bind))
    process = " [%(process)d]" if workers > 1 else ""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s{process} %(name)s: %(message)s"
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter

    def announce(urls: dict[str, str]) -> None:
        for role, url in urls.items():
            out.print(f"{role}: {url}", markup=False)
        out.print("Đang chạy; Ctrl+C hoặc SIGTERM để dừng / Running; Ctrl+C or SIGTERM to stop")
        out.print("SIGHUP: nạp lại chứng chỉ TLS / reload the TLS certificate")

    async def main(sockets: dict[str, socket.socket] | None, ready: Callable[[dict[str, str]], None]) -> None:
        server = Server(config, sockets=sockets)
        server.handle_signals()
        watch = asyncio.create_task(
            _stop_deadline(server.stopping, config.server.shutdown_grace_seconds + STOP_MARGIN)
        )
        try:
            try:
                await server.start()
            except BaseException:
                await server.stop()
                raise
            ready(server.urls())
            await server.run_until_stopped()
        finally:
            watch.cancel()  # once a stop was asked for, the deadline is armed already

    try:
        if workers > 1:
            _serve_workers(config, workers, lambda sockets, ready: _run(main(sockets, ready)), announce)
        else:
            _run(main(None, announce))
    except HopThuError as error:
        fail(error)
    err.print("Đã dừng / Stopped")


def _serve_workers(
    config: Settings,
    count: int,
    run_worker: Callable[[dict[str, socket.socket], Callable[[dict[str, str]], None]], None],
    announce: Callable[[dict[str, str]], None],
) -> None:
    """`--workers N`: the listeners bound here, N processes serving them (`hopthu.workers`)."""
    from hopthu.server import listener_sockets
    from hopthu.workers import check_workers, run_workers

    check_workers(config, count)
    sockets = listener_sockets(config)

    def started(urls: dict[str, str], pids: list[int]) -> None:
        out.print(f"workers: {', '.join(map(str, pids))}", markup=False)
        announce(urls)

    code = run_workers(config, count, sockets, run_worker, started)
    for sock in sockets.values():
        sock.close()
    if code:
        raise typer.Exit(code)


async def _stop_deadline(stopping: asyncio.Event, seconds: float) -> None:
    """Once a stop is asked for, a process not gone `seconds` later writes every thread's stack to
    stderr (what held it) and ends with status 1: SIGTERM always ends `hopthu serve`."""
    await stopping.wait()
    timer = threading.Timer(seconds, _stuck)
    timer.daemon = True
    timer.start()


def _stuck() -> None:
    sys.stderr.write("Không dừng kịp / Did not stop within the grace period; the threads were:\n")
    faulthandler.dump_traceback(all_threads=True)
    sys.stderr.flush()
    os._exit(1)


def _run(coroutine) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)
