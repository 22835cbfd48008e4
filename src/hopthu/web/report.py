"""Reporting spam or phishing (R11.2): the message goes to Junk, and a report goes to the helpdesk
(`hotro@`) with the original attached, whole and unchanged, as message/rfc822.

The message is also taught to rspamd as spam (its Bayes classifier learns from what people report),
after the move and never in its way: with rspamd off or down the move and the report still happen.
"Không phải thư rác" (not spam) is the other way: the person releases messages from Junk to the
inbox (R13.1: what was filed as junk is never silently lost) and rspamd learns them as ham.

The report is ordinary mail from the person who reports, through the same pipeline as anything they
send from the webmail (channel "web", their identity). The move to Junk does not wait on it: if the
report cannot be filed (no helpdesk mailbox, a refusal), the person is told so plainly and asked to
write to the helpdesk themselves, and the message stays in Junk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import email.utils
import logging
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hopthu.directory.auth import Identity
from hopthu.mail.headers import clean_text
from hopthu.protection.engines import EngineError
from hopthu.services import Services
from hopthu.smtp.notices import HELPDESK
from hopthu.smtp.pipeline import Incoming
from hopthu.store import Store, webmail
from hopthu.store.webmail import StoredMessage
from hopthu.web.auth import SignedIn
from hopthu.web.client import client_address
from hopthu.web.deps import WebServices, services_of
from hopthu.web.folders import FolderView, folders, reachable, special, visible
from hopthu.web.forms import CheckedForm
from hopthu.web.params import RowId, Uid
from hopthu.web.templating import VIETNAM, page

router = APIRouter()
log = logging.getLogger("hopthu.web")

INLINE_READ = 256 * 1024
RELEASE_AT_ONCE = 200  # messages released (and learned) in one request: a page of the list and more
_PLACEHOLDER = "HOPTHU-ORIGINAL-"  # stands for the original while the report is generated


@dataclass(frozen=True, slots=True)
class Problem:
    vi: str
    en: str
    detail: str = ""


def build_report(
    *,
    reporter: Identity,
    helpdesk: str,
    original: bytes,
    row: StoredMessage,
    folder: FolderView,
    now: dt.datetime,
    domain: str,
) -> bytes:
    """The report: a short text for the helpdesk and the original as message/rfc822, byte for byte.

    EmailMessage writes the report around a placeholder, which the original then replaces: its
    generator would otherwise re-encode or refold what was received, and a report must show the
    helpdesk exactly what arrived (trace headers, signatures, 8-bit bodies and all).
    """
    subject = clean_text(row.subject or "") or "(không có tiêu đề)"  # no CR or LF into a header
    received = row.internal_date.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
    report = EmailMessage()
    report["From"] = email.utils.formataddr((reporter.display_name, reporter.address))
    report["To"] = helpdesk
    report["Subject"] = f"Báo cáo thư rác / lừa đảo: {subject}"[:400]
    report["Date"] = email.utils.format_datetime(now.astimezone(VIETNAM))
    report["Message-ID"] = email.utils.make_msgid("bao-cao", domain=domain)
    report.set_content(
        f"{reporter.display_name} <{reporter.address}> báo cáo thư dưới đây là thư rác hoặc lừa đảo.\n"
        f"Thư đã được chuyển vào Thư rác.\n\n"
        f"Tiêu đề: {subject}\nNgười gửi: {row.sender}\nNhận lúc: {received} (giờ Việt Nam)\n"
        f"Thư mục: {folder.vi}\n\n"
        "Thư gốc được đính kèm nguyên vẹn (message/rfc822).\n\n"
        "---\n"
        f"{reporter.display_name} <{reporter.address}> reports the message below as spam or phishing.\n"
        f"It was moved to Junk. Received {received} (Vietnam time), folder {folder.en}.\n"
        "The original is attached unchanged (message/rfc822).\n"
    )
    if not original.endswith(b"\r\n"):
        original += b"\r\n"
    token = _PLACEHOLDER + secrets.token_hex(16)
    boundary = "hopthu-bao-cao-" + secrets.token_hex(16)
    while boundary.encode() in original or token.encode() in original:  # pragma: no cover
        boundary = "hopthu-bao-cao-" + secrets.token_hex(16)
    attached = EmailMessage()
    attached["Content-Type"] = "message/rfc822"
    attached["Content-Disposition"] = 'attachment; filename="thu-bao-cao.eml"'
    attached["Content-Transfer-Encoding"] = "7bit" if original.isascii() else "8bit"
    attached.set_payload(token)
    report.make_mixed()
    report.set_boundary(boundary)
    report.attach(attached)
    generated = report.as_bytes(policy=email.policy.SMTP)
    before, found, after = generated.partition(token.encode())
    assert found
    # The line end the generator put after the token belongs to the boundary that follows it.
    return before + original + after


async def _file(
    request: Request, who: SignedIn, original: bytes, row: StoredMessage, folder: FolderView
) -> Problem | None:
    """Send the report; what went wrong, or None when the helpdesk has it."""
    services = services_of(request)
    domain = services.settings.server.domain
    helpdesk = f"{HELPDESK}@{domain}"
    local = await services.router.local(helpdesk)
    if local is None or not local.receives:
        return Problem(
            f"hộp thư hỗ trợ {helpdesk} chưa sẵn sàng nhận thư",
            f"the helpdesk mailbox {helpdesk} is not receiving mail",
        )
    account = who.account
    reporter = Identity(
        account.id, account.local, account.address(domain), account.kind, account.display_name
    )
    data = build_report(
        reporter=reporter,
        helpdesk=helpdesk,
        original=original,
        row=row,
        folder=folder,
        now=services.store.mail.clock(),
        domain=domain,
    )
    client = client_address(request) or "127.0.0.1"
    outcome = await services.pipeline.accept(
        Incoming(data, reporter.address, [helpdesk], channel="web", client_ip=client, identity=reporter)
    )
    if not outcome.accepted:
        return Problem(
            f"hệ thống từ chối gửi báo cáo ({outcome.vi.rstrip('.')})",
            f"the system refused the report ({outcome.en.rstrip('.')})",
        )
    if any(d.refused for d in outcome.delivered):
        return Problem(
            f"hộp thư hỗ trợ {helpdesk} không nhận được thư (có thể đã đầy)",
            f"the helpdesk mailbox {helpdesk} could not take it (it may be full)",
        )
    return None


@router.post("/thu/{mailbox_id}/{uid}/bao-cao", response_class=HTMLResponse)
async def report(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    uid: Uid,
    who: CheckedForm,
) -> Response:
    """Move the message to Junk, then file the report with the helpdesk."""
    store = services.store
    mail = store.mail
    current = await reachable(services, who.account.id, mailbox_id)
    owner = current.account_id  # the person's own mailbox, or an agency's delegated to them
    row = await webmail.stored_one(store.db, mailbox_id, uid)
    if row is None:
        raise HTTPException(404)
    if row.size <= INLINE_READ:
        body = store.blobs.get(row.blob_hash)
    else:
        body = await asyncio.to_thread(store.blobs.get, row.blob_hash)
    original = (row.prefix or b"") + body
    junk = special(await folders(mail, owner), "\\Junk")
    if current.id != junk.id:
        await mail.editor.copy(
            (owner, mailbox_id), [uid], (owner, junk.id), quota=who.account.quota_bytes, move=True
        )
    problem = await _file(request, who, original, row, current)
    await learn(services, original, spam=True)
    return page(
        request,
        "report.html",
        who=who,
        groups=await visible(services, who.account.id),
        folders=await folders(mail, owner),
        current=current,
        junk=junk,
        subject=row.subject,
        problem=problem,
        helpdesk=f"{HELPDESK}@{services.settings.server.domain}",
    )


async def learn(services: Services, original: bytes, *, spam: bool) -> bool:
    """Teach rspamd this message (when it is configured); whether it learned. A failure is logged,
    never shown as the person's problem: the move they asked for has already happened."""
    rspamd = getattr(services, "rspamd", None)
    if rspamd is None:
        return False
    try:
        await asyncio.wait_for(
            rspamd.learn(original, spam=spam), services.settings.protection.scan_timeout_seconds
        )
    except (EngineError, TimeoutError) as error:
        log.warning("rspamd did not learn a reported message as %s: %s", "spam" if spam else "ham", error)
        return False
    return True


async def _original(store: Store, row: StoredMessage) -> bytes:
    if row.size <= INLINE_READ:
        body = store.blobs.get(row.blob_hash)
    else:
        body = await asyncio.to_thread(store.blobs.get, row.blob_hash)
    return (row.prefix or b"") + body


@router.post("/thu/{mailbox_id}/khong-phai-thu-rac")
async def not_spam(
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
    uid: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Move the chosen messages from Junk to the inbox and teach rspamd they are not spam."""
    store = services.store
    current = await reachable(services, who.account.id, mailbox_id)
    owner = current.account_id
    if current.special_use != "\\Junk":
        raise HTTPException(404)
    uids = sorted({u for u in uid or [] if 1 <= u < 2**32})[:RELEASE_AT_ONCE]
    if not uids:
        return RedirectResponse(f"/thu/{mailbox_id}", status_code=303)
    rows = await webmail.stored(store.db, mailbox_id, uids)
    inbox = special(await folders(store.mail, owner), None)
    await store.mail.editor.copy(
        (owner, mailbox_id),
        [row.uid for row in rows],
        (owner, inbox.id),
        quota=who.account.quota_bytes,
        move=True,
    )
    # The moved messages keep their stored bodies: read one at a time after the move, so the move
    # never waits on rspamd and no more than one message is in memory.
    for row in rows:
        await learn(services, await _original(store, row), spam=False)
    return RedirectResponse(f"/thu/{inbox.id}", status_code=303)
