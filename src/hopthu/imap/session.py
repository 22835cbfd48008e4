"""One IMAP connection: read, parse, check the state table, run the command, answer, repeat.

Every refusal is an `ImapRefusal` (or a `ParseError` for syntax) caught here, at the command
boundary; anything else is a bug, logged with an id and answered `NO [SERVERBUG]` with that id, so no
traceback ever reaches a client and one client's garbage never disturbs another. After each
command the session tells the client what changed in its selected mailbox (RFC 9051 §7); IDLE
waits for those changes and for DONE at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator, Identity
from hopthu.directory.standing import account_status, app_password_live
from hopthu.imap import commands as c
from hopthu.imap import responses as r
from hopthu.imap.mutf7 import decode_mutf7
from hopthu.imap.parser import CommandParser, Limits, NeedLiteral, ParseError
from hopthu.imap.places import Places, owners_for
from hopthu.imap.responses import ImapRefusal, bad
from hopthu.imap.selected import MapLost, Selected
from hopthu.imap.state import AUTHENTICATED, LOGOUT, NOT_AUTHENTICATED, SELECTED, allowed
from hopthu.imap.transport import Transport
from hopthu.policy import lifecycle
from hopthu.store import Store

log = logging.getLogger("hopthu.imap")

FLUSH_AT = 256 * 1024
PREAUTH_TIMEOUT = 120.0  # seconds a client may take to sign in
MAX_BAD_COMMANDS = 20  # in a row: any command not answered BAD starts the count again, as in Dovecot
MAX_FAILED_LOGINS = 3
ACCESS_RECHECK = 30.0  # seconds between checks that the account and its delegations still hold
# Commands during which EXPUNGE must not be sent: they use sequence numbers (RFC 9051 §7.5.1).
_NO_EXPUNGE = ("FETCH", "STORE", "SEARCH")


@dataclass
class ImapContext:
    """What every session of one server shares."""

    settings: Settings
    store: Store
    authenticator: Authenticator
    tls: ssl.SSLContext
    sessions: set[Session] = field(default_factory=set)
    commands: int = 0  # run since start, for /metrics
    # Session ids that never meet another node's: change events name the session that made them.
    _origins: int = field(default_factory=lambda: secrets.randbelow(2**40) << 20)

    @property
    def limits(self) -> Limits:
        """What one command may hold once the person is signed in: APPEND's message up to
        `max_literal`, everything else together up to `max_command`."""
        imap = self.settings.imap
        return Limits(imap.max_line, imap.max_command, imap.max_literal)

    @property
    def prelogin_limits(self) -> Limits:
        """Before sign-in only small commands are read (LOGIN, AUTHENTICATE, ID, CAPABILITY...):
        whoever connects can make the server hold no more than this."""
        imap = self.settings.imap
        small = imap.prelogin_max_command
        return Limits(min(imap.max_line, small), small, small)

    def next_origin(self) -> int:
        self._origins += 1
        return self._origins


Handler = Callable[["Session", Any], Awaitable[bytes | None]]
HANDLERS: dict[type, Handler] = {}


def handles(*kinds: type) -> Callable[[Handler], Handler]:
    """Register a command handler; it returns the text after "OK" (None: "<NAME> completed")."""

    def register(function: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = function
        return function

    return register


class Session:
    def __init__(self, ctx: ImapContext, transport: Transport) -> None:
        self.ctx = ctx
        self.transport = transport
        settings = ctx.settings.imap
        self.parser = CommandParser()
        self.idle_timeout = settings.idle_timeout_minutes * 60
        self.peer = transport.peer
        self.state = NOT_AUTHENTICATED
        self.identity: Identity | None = None
        self.places: Places | None = None
        self.selected: Selected | None = None
        self.rev2 = False  # ENABLE IMAP4rev2: UTF-8 names, ESEARCH answers (RFC 9051 §6.3.1)
        self.condstore = False  # RFC 7162 §3.1: MODSEQ in FETCH, HIGHESTMODSEQ in SELECT
        self.origin = ctx.next_origin()
        self.out = bytearray()
        self.bad_commands = 0
        self.failed_logins = 0
        self.client = ""  # the name and version the client gave by ID (RFC 2971), for the access log
        self.starttls_requested = False
        self.task: asyncio.Task[None] | None = None
        self.access_checked = 0.0
        self.rights_seen = 0  # the event bus's count of RIGHTS events for this person, when last read

    # --- output -----------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.out += data

    async def flush(self) -> None:
        if self.transport.is_closing():
            # The connection was closed under us (the pre-login deadline, a BYE from another task):
            # what is left has no one to read it.
            self.out.clear()
            raise ConnectionResetError("connection closed")
        if self.out:
            self.transport.write(bytes(self.out))
            self.out.clear()
        await self.transport.drain()

    async def flush_if_large(self) -> None:
        if len(self.out) >= FLUSH_AT:
            await self.flush()

    async def receive(self, timeout: float) -> bytes:
        """The next bytes from the client, b"" once it has closed; TimeoutError after `timeout`."""
        return await asyncio.wait_for(self.transport.read(), timeout)

    # --- properties -------------------------------------------------------------------------------

    @property
    def tls(self) -> bool:
        return self.transport.secure

    @property
    def utf8(self) -> bool:
        return self.rev2

    @property
    def plain_login_allowed(self) -> bool:
        """LOGIN and AUTHENTICATE need TLS, except from loopback in development (configuration)."""
        if self.tls:
            return True
        if not self.ctx.settings.imap.allow_plain_login_on_loopback:
            return False
        with contextlib.suppress(ValueError):
            return ipaddress.ip_address(self.peer).is_loopback
        return False

    def mailbox_arg(self, name: str) -> str:
        """A mailbox name as the client sent it, in the UTF-8 we store (RFC 3501 §5.1.3 for IMAP4rev1)."""
        if self.utf8:
            return name
        try:
            decoded = decode_mutf7(name)
        except ValueError:
            # NO, as Dovecot answers: the command is well formed, only no mailbox can have this name
            raise ImapRefusal(
                "Tên thư mục mã hóa sai", f"Mailbox name is not valid modified UTF-7: {name!r}", "CANNOT"
            ) from None
        return "INBOX" if decoded.upper() == "INBOX" else decoded

    def enable_condstore(self) -> None:
        """RFC 7162 §3.1: a CONDSTORE-enabling command while a mailbox is selected is answered with
        that mailbox's HIGHESTMODSEQ, once, before the command's own answer."""
        if self.condstore:
            return
        self.condstore = True
        if self.selected is not None:
            self.send(b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % self.selected.modseq)

    def require_places(self) -> Places:
        assert self.places is not None
        return self.places

    def require_selected(self) -> Selected:
        assert self.selected is not None
        return self.selected

    def capabilities(self) -> str:
        caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"]
        if self.state == NOT_AUTHENTICATED:
            if not self.tls:
                caps.append("STARTTLS")
            caps.append("AUTH=PLAIN" if self.plain_login_allowed else "LOGINDISABLED")
            return " ".join(caps)
        caps += [
            "UIDPLUS", "MOVE", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "NAMESPACE", "UNSELECT",
            "CHILDREN", "QUOTA", "QUOTA=RES-STORAGE", "CONDSTORE", "ESEARCH", "SEARCHRES", "BINARY",
            "STATUS=SIZE",
        ]  # fmt: skip
        return " ".join(caps)

    # --- the connection ---------------------------------------------------------------------------

    async def run(self) -> None:
        self.task = asyncio.current_task()
        self.ctx.sessions.add(self)
        try:
            self.send(bytes(r.greeting(self.capabilities())))
            await self.flush()
            while self.state != LOGOUT:
                item = await self.next_item()
                if item is None:
                    break
                await self.execute(item)
                await self.flush()
                if self.starttls_requested:
                    await self.start_tls()
        except MapLost:
            log.warning("IMAP session lost track of its mailbox's expunges; closed with BYE")
            with contextlib.suppress(Exception):
                self.transport.write(bytes(r.MAILBOX_LOST))
                await self.transport.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except TimeoutError:
            with contextlib.suppress(Exception):
                self.transport.write(bytes(r.AUTOLOGOUT))
                await self.transport.drain()
        finally:
            self.ctx.sessions.discard(self)
            if self.selected is not None:
                self.selected.close()
            self.transport.close()
            await self.transport.wait_closed()

    async def next_item(self) -> c.Command | c.Done | c.SaslResponse | None:
        """The next complete client item, answering literals' continuation requests; None at EOF."""
        while True:
            prelogin = self.state == NOT_AUTHENTICATED
            self.parser.limits = self.ctx.prelogin_limits if prelogin else self.ctx.limits
            try:
                item = self.parser.next()
            except ParseError as error:
                await self.refuse_syntax(error)
                if prelogin and error.code == "TOOBIG" and not error.literal_refused:
                    # RFC 7888 §4: the rest of the command is on its way whatever we answer; before
                    # sign-in nothing of that size is worth reading, so the connection ends here.
                    self.send(bytes(r.TOO_BIG_BEFORE_LOGIN))
                    await self.flush()
                    self.state = LOGOUT
                if self.state == LOGOUT:
                    return None
                continue
            if isinstance(item, NeedLiteral):
                if item.synchronizing:
                    self.transport.write(r.READY_FOR_LITERAL)
                continue
            if item is not None:
                return item
            timeout = self.idle_timeout if self.state != NOT_AUTHENTICATED else PREAUTH_TIMEOUT
            data = await self.receive(timeout)
            if not data:
                return None
            self.parser.feed(data)

    async def refuse_syntax(self, error: ParseError) -> None:
        self.bad_commands += 1
        tag = error.tag or "*"
        if error.code == r.Code.TOOBIG:
            self.send(r.too_big(error.text).line(tag))
        else:
            self.send(r.syntax_error(error.text).line(tag))
        if self.bad_commands >= MAX_BAD_COMMANDS:
            self.send(bytes(r.TOO_MANY_BAD))
            self.state = LOGOUT
        await self.flush()

    async def execute(self, item: c.Command | c.Done | c.SaslResponse) -> None:
        if not isinstance(item, c.Command):
            await self.refuse_syntax(ParseError(None, "unexpected continuation line"))
            return
        self.ctx.commands += 1
        tag = item.tag
        try:
            if self.state in (AUTHENTICATED, SELECTED) and not await self.still_allowed():
                return
            if not allowed(self.state, item):
                raise bad("Lệnh không dùng được lúc này", f"{item.name} is not allowed in this state")
            handler = HANDLERS[type(item)]
            text = await handler(self, item)
            self.bad_commands = 0
            await self.after(item)
            done = text or r.completed(item.name).encode()
            self.send(tag.encode() + b" OK " + done + b"\r\n")
        except ImapRefusal as refusal:
            # Only BADs in a row end the session: a client whose good commands are mixed with an
            # occasional unsupported one is not hostile, and would be cut off in a long session.
            self.bad_commands = self.bad_commands + 1 if refusal.kind == "BAD" else 0
            await self.after(item, failed=True)
            self.send(refusal.line(tag))
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            raise
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("IMAP %s failed (incident %s)", item.name, incident)
            self.send(r.server_bug(incident).line(tag))
        if self.bad_commands >= MAX_BAD_COMMANDS:
            self.send(bytes(r.TOO_MANY_BAD))
            self.state = LOGOUT

    async def still_allowed(self) -> bool:
        """Whether the person may still use what this session opened, checked every
        ACCESS_RECHECK seconds and at once after a RIGHTS event (a delegation granted or withdrawn,
        R8.2, published by `directory.delegations`; an app password revoked): a mailbox locked,
        revoked or deleted (R6), the app password the session signed in with revoked, or an agency
        mailbox's delegation withdrawn, ends the session with BYE rather than at its next
        sign-in, and LIST stops showing an agency mailbox no longer delegated.

        BYE rather than closing the mailbox: RFC 9051 gives a server no way to unselect on its own
        (`[CLOSED]` answers the client's own SELECT/UNSELECT), and a session left SELECTED on a
        mailbox it may no longer read would have to refuse every command. Dovecot likewise
        disconnects a session whose selected mailbox went away. The client reconnects and its LIST
        no longer shows the mailbox."""
        if self.identity is None:
            return True
        identity = self.identity
        events = self.ctx.store.events
        generation = events.rights_generation(identity.account_id)
        selected = self.selected
        told = selected is not None and selected.rights_changed
        now = asyncio.get_running_loop().time()
        if now - self.access_checked < ACCESS_RECHECK and generation == self.rights_seen and not told:
            return True
        self.access_checked = now
        self.rights_seen = generation
        if selected is not None:
            selected.rights_changed = False
        db = self.ctx.store.db
        status = await account_status(db, identity.account_id)
        if status is None or not lifecycle.can_sign_in(lifecycle.Status(status)):
            self.send(bytes(r.ACCOUNT_UNAVAILABLE))
            self.state = LOGOUT
            return False
        if identity.app_password_id is not None and not await app_password_live(db, identity.app_password_id):
            self.send(bytes(r.APP_PASSWORD_REVOKED))
            self.state = LOGOUT
            return False
        owners = await owners_for(db, identity.account_id, identity.local)
        places = self.require_places()
        if owners != places.owners:
            reachable = {owner.account_id for owner in owners}
            if self.selected is not None and self.selected.place.account_id not in reachable:
                self.send(bytes(r.ACCESS_WITHDRAWN))
                self.state = LOGOUT
                return False
            self.places = Places(self.ctx.store.folders, owners)
        return True

    async def after(self, command: c.Command, *, failed: bool = False) -> None:
        """Untagged news about the selected mailbox, before the tagged answer (RFC 9051 §7)."""
        if self.selected is None or self.state != SELECTED:
            return
        name = command.name
        uid = getattr(command, "uid", False)
        await self.selected.sync(
            self.ctx.store.db,
            self.send,
            allow_expunge=not (name in _NO_EXPUNGE and not uid),
            poll=name in ("NOOP", "CHECK"),
            condstore=self.condstore,
        )

    async def idle(self) -> None:
        """RFC 2177 / RFC 9051 §6.3.13: news as it happens until the client says DONE."""
        selected = self.selected if self.state == SELECTED else None
        if selected is not None:
            await self.sync_selected(poll=True)
        self.send(r.IDLING)
        await self.flush()
        self.parser.expect_done()
        loop = asyncio.get_running_loop()
        while True:
            try:
                item = self.parser.next()
            except ParseError:
                raise bad("Cần DONE để kết thúc IDLE", "expected DONE") from None
            if isinstance(item, c.Done):
                return
            if not self.transport.has_input() and not (selected is not None and selected.has_news()):
                # One future for both sources and no task: an IDLE held for hours costs little.
                wake: asyncio.Future[None] = loop.create_future()

                def woken(wake: asyncio.Future[None] = wake) -> None:
                    if not wake.done():
                        wake.set_result(None)

                self.transport.on_input(woken)
                if selected is not None:
                    selected.on_news(woken)
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        await wake
                finally:
                    self.transport.on_input(None)
                    if selected is not None:
                        selected.on_news(None)
            if selected is not None and selected.has_news():
                if selected.rights_changed and not await self.still_allowed():
                    await self.flush()  # the BYE; the session ends without a tagged answer
                    raise ConnectionResetError("access withdrawn during IDLE")
                await self.sync_selected(poll=False)
                await self.flush()
            if self.transport.has_input():
                data = await self.transport.read()
                if not data:
                    raise ConnectionResetError("client closed during IDLE")
                self.parser.feed(data)

    async def sync_selected(self, *, poll: bool) -> None:
        if self.selected is not None:
            await self.selected.sync(
                self.ctx.store.db, self.send, allow_expunge=True, poll=poll, condstore=self.condstore
            )

    async def start_tls(self) -> None:
        """Switch to TLS after "OK Begin TLS" (RFC 9051 §6.2.1); bytes the client sent early are dropped."""
        self.starttls_requested = False
        self.parser = CommandParser()  # what it held came in plain text: forgotten with it
        await self.transport.start_tls()

    def unselect(self) -> None:
        if self.selected is not None:
            self.selected.close()
        self.selected = None
        if self.state == SELECTED:
            self.state = AUTHENTICATED

    async def shutdown(self) -> None:
        """The server is stopping: say goodbye (RFC 9051 §7.1.5) and close."""
        with contextlib.suppress(Exception):
            self.transport.write(bytes(r.SHUTTING_DOWN))
            await self.transport.drain()
        self.transport.close()
