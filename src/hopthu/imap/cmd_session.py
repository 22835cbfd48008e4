"""Commands about the connection itself: CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE, STARTTLS,
LOGIN and AUTHENTICATE (RFC 9051 §6.1-6.3, RFC 2971 ID, RFC 5161 ENABLE, RFC 2342 NAMESPACE,
RFC 4959 SASL-IR, RFC 4616 PLAIN). Sign-in answers say why in RFC 5530 codes: `[EXPIRED]` with the
web address when the password must be changed first (R5.2), `[UNAVAILABLE]` for a locked, revoked or
deleted mailbox (R6), `[AUTHENTICATIONFAILED]` for a wrong password."""

from __future__ import annotations

import asyncio
import base64
import binascii

from hopthu.directory.auth import Refusal, SignInRefused
from hopthu.imap import commands as c
from hopthu.imap import responses as r
from hopthu.imap.parser import ParseError
from hopthu.imap.places import Places, owners_for
from hopthu.imap.responses import ImapRefusal, astring, bad
from hopthu.imap.session import (
    MAX_FAILED_LOGINS,
    PREAUTH_TIMEOUT,
    Session,
    handles,
)
from hopthu.imap.state import AUTHENTICATED, LOGOUT

_REFUSAL_CODES = {
    Refusal.BAD_CREDENTIALS: r.Code.AUTHENTICATIONFAILED,
    Refusal.THROTTLED: r.Code.UNAVAILABLE,
    Refusal.MUST_CHANGE_PASSWORD: r.Code.EXPIRED,
    Refusal.LOCKED: r.Code.UNAVAILABLE,
    Refusal.REVOKED: r.Code.UNAVAILABLE,
    Refusal.DELETED: r.Code.UNAVAILABLE,
    Refusal.APP_PASSWORD_ON_WEB: r.Code.AUTHENTICATIONFAILED,  # the webmail's alone; listed for completeness
}
_SERVER_ID = (
    ("name", "Hop Thu"),
    ("vendor", "So Khoa hoc va Cong nghe thanh pho Can Tho"),
    ("support-url", None),
)


@handles(c.Capability)
async def capability(session: Session, _command: c.Capability) -> bytes | None:
    session.send(f"* CAPABILITY {session.capabilities()}\r\n".encode())
    return None


@handles(c.Noop, c.Check)
async def noop(_session: Session, _command: c.Command) -> bytes | None:
    return None  # the news is sent by Session.after, which polls the store for these two


@handles(c.Logout)
async def logout(session: Session, _command: c.Logout) -> bytes | None:
    session.send(bytes(r.LOGGING_OUT))
    session.unselect()
    session.state = LOGOUT
    return None


@handles(c.Idle)
async def idle(session: Session, _command: c.Idle) -> bytes | None:
    await session.idle()
    return r.IDLE_TERMINATED.encode()


@handles(c.Id)
async def identify(session: Session, command: c.Id) -> bytes | None:
    # The client's name and version, for the access log of a LOGIN that follows (R13.4)
    given = {key.lower(): value for key, value in command.parameters or () if value}
    named = " ".join(part for part in (given.get("name"), given.get("version")) if part)
    if named:
        session.client = named[:200]
    # RFC 2971 §3.1: the server's own identification; the client's is not needed
    url = session.ctx.settings.server.web_url
    fields = [
        astring(key) + b" " + astring(url if key == "support-url" else value or "")
        for key, value in _SERVER_ID
    ]
    session.send(b"* ID (" + b" ".join(fields) + b")\r\n")
    return None


@handles(c.Enable)
async def enable(session: Session, command: c.Enable) -> bytes | None:
    enabled = []
    for name in command.capabilities:
        if name == "CONDSTORE":
            session.condstore = True
            enabled.append(name)
        elif name == "IMAP4REV2":
            session.rev2 = True
            enabled.append("IMAP4rev2")
    session.send(("* ENABLED " + " ".join(enabled)).rstrip().encode() + b"\r\n")
    return None


@handles(c.Namespace)
async def namespace(session: Session, _command: c.Namespace) -> bytes | None:
    places = session.require_places()
    shared = b'(("Shared/" "/"))' if len(places.owners) > 1 else b"NIL"
    session.send(b'* NAMESPACE (("" "/")) NIL ' + shared + b"\r\n")
    return None


@handles(c.StartTLS)
async def starttls(session: Session, _command: c.StartTLS) -> bytes | None:
    if session.tls:
        raise bad("Đã dùng TLS", "TLS is already active")
    session.starttls_requested = True
    return r.BEGIN_TLS.encode()


@handles(c.Login)
async def login(session: Session, command: c.Login) -> bytes | None:
    return await _sign_in(session, command.username, command.password)


@handles(c.Authenticate)
async def authenticate(session: Session, command: c.Authenticate) -> bytes | None:
    if command.mechanism != "PLAIN":
        raise ImapRefusal("Chỉ hỗ trợ PLAIN", "Only the PLAIN mechanism is supported", r.Code.CANNOT)
    _require_privacy(session)
    response = command.initial_response
    if response is None:
        session.send(r.SASL_CHALLENGE)
        await session.flush()
        item = await _sasl_response(session)
        if item.cancelled:
            raise bad("Đã hủy xác thực", "authentication cancelled")
        response = item.data
    try:
        decoded = base64.b64decode(response, validate=True).decode("utf-8")
        authzid, user, password = decoded.split("\0")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad("Dữ liệu PLAIN không hợp lệ", "invalid PLAIN response") from None
    if authzid and authzid != user:
        raise ImapRefusal(
            "Không được đăng nhập thay người khác", "cannot act as another user", r.Code.AUTHORIZATIONFAILED
        )
    return await _sign_in(session, user, password)


async def _sasl_response(session: Session) -> c.SaslResponse:
    """The client's line after "+ ". Read here rather than by `Session.next_item`, which answers a
    malformed line with an untagged BAD and waits on: RFC 9051 §6.2.2 wants this AUTHENTICATE
    rejected with a tagged BAD, else the client waits for ever."""
    session.parser.expect_sasl_response()
    while True:
        try:
            item = session.parser.next()
        except ParseError:
            raise bad("Phản hồi xác thực không hợp lệ", "invalid SASL response") from None
        if isinstance(item, c.SaslResponse):
            return item
        if item is not None:
            raise bad("Thiếu phản hồi xác thực", "expected a SASL response")
        data = await session.receive(PREAUTH_TIMEOUT)
        if not data:
            raise ConnectionResetError("client closed during AUTHENTICATE")
        session.parser.feed(data)


def _require_privacy(session: Session) -> None:
    if not session.plain_login_allowed:
        raise ImapRefusal("Hãy dùng STARTTLS trước", "Use STARTTLS first", r.Code.PRIVACYREQUIRED)


async def _sign_in(session: Session, user: str, password: str) -> bytes:
    _require_privacy(session)
    ctx = session.ctx
    try:
        identity = await ctx.authenticator.sign_in(
            user, password, source=session.peer, protocol="imap", client=session.client
        )
    except SignInRefused as refusal:
        session.failed_logins += 1
        if session.failed_logins >= MAX_FAILED_LOGINS:
            session.send(bytes(r.TOO_MANY_FAILED_LOGINS))
            session.state = LOGOUT
        raise ImapRefusal.explaining(refusal, _REFUSAL_CODES[refusal.refusal]) from None
    session.identity = identity
    # Read before the rights themselves, so a withdrawal racing this sign-in is noticed next command.
    session.rights_seen = ctx.store.events.rights_generation(identity.account_id)
    owners = await owners_for(ctx.store.db, identity.account_id, identity.local)
    session.places = Places(ctx.store.folders, owners)
    session.state = AUTHENTICATED
    session.access_checked = asyncio.get_running_loop().time()
    return f"[{r.Code.CAPABILITY} {session.capabilities()}] {r.SIGNED_IN}".encode()
