"""The engines `[protection]` names, built for the server: an empty address leaves that engine off."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from hopthu.config import ProtectionSettings
from hopthu.protection.clamd import Clamd
from hopthu.protection.rspamd import Rspamd
from hopthu.protection.status import EngineStatus, Watch, WatchedSpam, WatchedVirus

log = logging.getLogger("hopthu.protection")
NAMES = {"rspamd": ("chấm điểm thư rác", "spam scoring"), "clamd": ("quét mã độc", "malware scanning")}


def build(
    settings: ProtectionSettings,
) -> tuple[Rspamd | None, WatchedSpam | None, WatchedVirus | None, EngineStatus]:
    """The rspamd client (for learning, unwatched), the watched engines for the inspector, and their
    status for /healthz and the portal."""
    status = EngineStatus(Watch("rspamd", bool(settings.rspamd_url)), Watch("clamd", bool(settings.clamd)))
    rspamd = (
        Rspamd(
            settings.rspamd_url,
            controller_url=settings.rspamd_controller_url,
            password=settings.rspamd_password,
            timeout=settings.scan_timeout_seconds,
        )
        if settings.rspamd_url
        else None
    )
    spam = WatchedSpam(rspamd, status.scoring) if rspamd is not None else None
    virus = (
        WatchedVirus(Clamd(settings.clamd, timeout=settings.scan_timeout_seconds), status.scanning)
        if settings.clamd
        else None
    )
    return rspamd, spam, virus, status


def operator_alert(
    operators: Callable[[], Awaitable[list[str]]],
    tell: Callable[..., Awaitable[None]],
    hostname: str,
) -> Callable[[str, str], Awaitable[None]]:
    """The inspector's alert: a notice to every operator administrator that an engine failed."""

    async def alert(engine: str, detail: str) -> None:
        vi_name, en_name = NAMES.get(engine, (engine, engine))
        recipients = await operators()
        if not recipients:
            log.warning("no operator to tell that %s failed", engine)
        for recipient in recipients:
            await tell(
                recipient,
                subject=f"{engine} không trả lời / {engine} is not answering",
                vi=(
                    f"Máy chủ {hostname}: {engine} ({vi_name}) không kiểm tra được thư: {detail}. "
                    "Trong lúc đó thư đến được trả lời 451 (người gửi gửi lại sau) hoặc được nhận kèm "
                    "dấu X-HopThu-Scan: unscanned, tùy [protection] on_failure. Hãy kiểm tra dịch vụ "
                    f"{engine}; trang /healthz cho biết khi nào nó hoạt động trở lại."
                ),
                en=(
                    f"Server {hostname}: {engine} ({en_name}) could not check a message: {detail}. "
                    "Meanwhile incoming mail is answered 451 (the sender retries) or accepted marked "
                    "X-HopThu-Scan: unscanned, as [protection] on_failure says. Check the "
                    f"{engine} service; /healthz shows when it answers again."
                ),
            )

    return alert


def lock_alert(
    operators: Callable[[], Awaitable[list[str]]],
    tell: Callable[..., Awaitable[None]],
    domain: str,
    web_url: str,
) -> Callable[[str, str], Awaitable[None]]:
    """The sending limits' alert (R3.1, R6.4a): every operator administrator is told by mail that
    an account was locked for sending spam, and where to look before restoring it."""

    async def alert(local: str, why: str) -> None:
        address = f"{local}@{domain}"
        page = f"{web_url.rstrip('/')}/quan-tri/hop-thu/{local}"
        for recipient in await operators():
            await tell(
                recipient,
                subject=f"Hộp thư bị tạm khóa vì gửi thư rác: {address} / Locked for sending spam",
                vi=f"Hộp thư {address} đã bị hệ thống tạm khóa (R6.4a): {why}. Tài khoản có thể đã bị"
                f" chiếm quyền. Hãy liên hệ người dùng, đặt lại mật khẩu rồi khôi phục tại {page}.",
                en=f"The mailbox {address} was locked by the system (R6.4a): over the hard sending"
                f" limit. The account may have been taken over. Contact its owner, reset the password,"
                f" then restore it at {page}.",
            )

    return alert
