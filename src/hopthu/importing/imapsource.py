"""Reading a former province's mail server over IMAP (R13.7): an asyncio client that only reads.

It connects in clear, with STARTTLS or with TLS from the first byte (an internal server's
self-signed certificate may be accepted unverified when the plan says so), signs in with LOGIN or
AUTHENTICATE PLAIN, as the person or as the server's administrator on the person's behalf (Dovecot's
`user*master` login, or PLAIN with the person as authorisation identity), lists every folder with its
SPECIAL-USE attributes, opens each with EXAMINE (read-only: the old side is never changed, not even
its \\Seen flags) and fetches messages by UID in batches, several commands in flight at once.

Everything read is bounded: a line (`MAX_LINE`), the text of one response (`MAX_TEXT`), a literal
(`literal_limit`, a message larger is dropped on the way and reported), and every read waits at most
`timeout` seconds. Failures are one of three bilingual errors: `SourceRefused` (the login was
refused: that mailbox stops), `SourceUnreachable` (connection refused, lost or silent: the mailbox is
interrupted and a rerun resumes), `SourceProtocolError` (the server answered something we cannot
use). No password is ever part of an error, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import enum
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hopthu.errors import HopThuError
from hopthu.importing.imapwire import (
    LITERAL_AT_END,
    Oversized,
    Response,
    WireError,
    as_text,
    internal_date,
    mailbox_name,
    quoted,
    tokens,
    uid_set,
)

MAX_LINE = 64 * 1024  # one line of a response
MAX_TEXT = 1024 * 1024  # the text of one response, literals aside
LITERAL_LIMIT = 100 * 1024 * 1024  # one message
TIMEOUT = 60.0  # seconds any one read or connect may take
_DISCARD_CHUNK = 1024 * 1024
FETCH_ITEMS = b"(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"


class TlsMode(enum.StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class Secret:
    """A password: shown as stars by repr and str, read only through `reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    tls: TlsMode = TlsMode.TLS
    verify: bool = True  # False: accept an internal server's self-signed certificate

    def __str__(self) -> str:
        return f"{self.host}:{self.port} ({self.tls})"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who signs in: the person, or the server's administrator for the person (`master_user`)."""

    user: str
    password: Secret | None = None
    master_user: str | None = None
    master_password: Secret | None = None
    mechanism: str = "login"  # "login" (LOGIN) or "plain" (AUTHENTICATE PLAIN)
    separator: str = "*"  # Dovecot's auth_master_user_separator, for LOGIN as administrator


class SourceError(HopThuError):
    """Something went wrong with the former server."""


class SourceRefused(SourceError):
    def __init__(self, endpoint: Endpoint, user: str, answer: str) -> None:
        super().__init__(
            f"Máy chủ cũ {endpoint.host}:{endpoint.port} từ chối đăng nhập của {user} "
            f"(sai mật khẩu hoặc tài khoản quản trị?): {answer}",
            f"The former server {endpoint.host}:{endpoint.port} refused the login of {user} "
            f"(wrong password or administrator login?): {answer}",
            code="refused",
        )


class SourceUnreachable(SourceError):
    def __init__(self, endpoint: Endpoint, why: str) -> None:
        super().__init__(
            f"Không kết nối được máy chủ cũ {endpoint.host}:{endpoint.port}: {why}",
            f"Cannot reach the former server {endpoint.host}:{endpoint.port}: {why}",
            code="unreachable",
        )


class SourceProtocolError(SourceError):
    def __init__(self, endpoint: Endpoint, what: str) -> None:
        super().__init__(
            f"Máy chủ cũ {endpoint.host}:{endpoint.port} trả lời không đúng giao thức IMAP: {what}",
            f"The former server {endpoint.host}:{endpoint.port} answered outside IMAP: {what}",
            code="protocol",
        )


class FolderUnavailable(SourceError):
    def __init__(self, name: str, answer: str) -> None:
        super().__init__(
            f"Không mở được thư mục {name} trên máy chủ cũ: {answer}",
            f"The former server would not open the folder {name}: {answer}",
            code="folder",
        )


@dataclass(frozen=True, slots=True)
class SourceFolder:
    name: str  # decoded (Unicode)
    raw: str  # as the server spells it (modified UTF-7), to EXAMINE it
    delimiter: str | None
    attributes: tuple[str, ...]

    @property
    def selectable(self) -> bool:
        lowered = {a.lower() for a in self.attributes}
        return not ({"\\noselect", "\\nonexistent"} & lowered)


@dataclass(frozen=True, slots=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True, slots=True)
class SourceMessage:
    uid: int
    flags: tuple[str, ...]
    internal_date: dt.datetime | None
    size: int  # RFC822.SIZE as the server counts it
    body: bytes | Oversized | None  # None: the server sent no body for it


@dataclass(slots=True)
class _Pending:
    tag: bytes
    uids: list[int]
    found: list[SourceMessage] = field(default_factory=list)
    status: bytes | None = None  # OK or NO once answered
    words: str = ""


class ImapSource:
    """One signed-in session with a former server. Use `connect`, then `async with`."""

    def __init__(
        self,
        endpoint: Endpoint,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float,
        literal_limit: int,
    ) -> None:
        self.endpoint = endpoint
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        self._literal_limit = literal_limit
        self._tag = 0
        self.capabilities: set[str] = set()
        self._in_flight = 0  # pipelined commands whose answers are not read yet
        self._kept: list[Response] = []  # the untagged responses of the last command

    # --- opening ----------------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        endpoint: Endpoint,
        credentials: Credentials,
        *,
        timeout: float = TIMEOUT,
        literal_limit: int = LITERAL_LIMIT,
    ) -> ImapSource:
        """Connect, secure and sign in; `SourceRefused` or `SourceUnreachable` otherwise."""
        context = _tls_context(endpoint.verify) if endpoint.tls != TlsMode.NONE else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    endpoint.host,
                    endpoint.port,
                    ssl=context if endpoint.tls == TlsMode.TLS else None,
                    server_hostname=endpoint.host if endpoint.tls == TlsMode.TLS else None,
                    limit=MAX_LINE,
                )
        except TimeoutError:
            raise SourceUnreachable(endpoint, "quá thời gian chờ / timed out") from None
        except ssl.SSLError as error:
            raise SourceUnreachable(endpoint, f"TLS: {error.reason or error}") from None
        except OSError as error:
            raise SourceUnreachable(endpoint, error.strerror or type(error).__name__) from None
        source = cls(endpoint, reader, writer, timeout=timeout, literal_limit=literal_limit)
        try:
            await source._open(credentials, context)
        except BaseException:
            await source.close()
            raise
        return source

    async def _open(self, credentials: Credentials, context: ssl.SSLContext | None) -> None:
        greeting = await self._read()
        if greeting.text.startswith(b"* BYE"):
            raise SourceUnreachable(self.endpoint, greeting.text.decode("utf-8", "replace")[:200])
        if not greeting.text.startswith(b"* OK"):
            raise SourceProtocolError(self.endpoint, "no greeting")
        await self._capability()
        if self.endpoint.tls == TlsMode.STARTTLS:
            if "STARTTLS" not in self.capabilities:
                raise SourceUnreachable(self.endpoint, "máy chủ không hỗ trợ STARTTLS / no STARTTLS offered")
            await self._simple(b"STARTTLS")
            assert context is not None
            try:
                async with asyncio.timeout(self._timeout):
                    await self._writer.start_tls(context, server_hostname=self.endpoint.host)
            except TimeoutError:
                raise SourceUnreachable(self.endpoint, "TLS: quá thời gian chờ / timed out") from None
            except ssl.SSLError as error:
                raise SourceUnreachable(self.endpoint, f"TLS: {error.reason or error}") from None
            await self._capability()
        await self._login(credentials)
        await self._capability()

    async def _capability(self) -> None:
        for response in await self._simple(b"CAPABILITY"):
            if response.text.upper().startswith(b"* CAPABILITY "):
                self.capabilities = {word.upper() for word in response.text[13:].decode().split()}

    async def _login(self, credentials: Credentials) -> None:
        who = credentials.user
        secret = credentials.master_password if credentials.master_user else credentials.password
        password = secret.reveal() if secret else ""
        if credentials.mechanism == "plain":
            authzid = credentials.user if credentials.master_user else ""
            authcid = credentials.master_user or credentials.user
            blob = base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode())
            if "SASL-IR" in self.capabilities:
                answer = await self._command(b"AUTHENTICATE PLAIN " + blob, refusal=True)
            else:
                answer = await self._command(b"AUTHENTICATE PLAIN", continuation=blob, refusal=True)
        else:
            login = (
                f"{who}{credentials.separator}{credentials.master_user}" if credentials.master_user else who
            )
            answer = await self._command(b"LOGIN", arguments=(login, password), refusal=True)
        if answer is not None:
            raise SourceRefused(self.endpoint, who, answer)

    # --- reading folders --------------------------------------------------------------------------

    async def folders(self) -> list[SourceFolder]:
        """Every folder (LIST "" "*"), SPECIAL-USE attributes included where the server has them."""
        found: list[SourceFolder] = []
        for response in await self._simple(b'LIST "" "*"'):
            if not response.text.upper().startswith(b"* LIST "):
                continue
            try:
                values = tokens(response.text, response.literals, start=7)
                attributes, delimiter, name = values[0], values[1], values[2]
            except (WireError, IndexError):
                raise SourceProtocolError(self.endpoint, "LIST") from None
            raw = as_text(name)
            found.append(
                SourceFolder(
                    name=mailbox_name(raw),
                    raw=raw,
                    delimiter=as_text(delimiter) if delimiter is not None else None,
                    attributes=tuple(as_text(a) for a in attributes) if isinstance(attributes, list) else (),
                )
            )
        return found

    async def examine(self, folder: SourceFolder) -> FolderState:
        """Open `folder` read-only (EXAMINE, RFC 9051 §6.3.3): nothing on the old side changes."""
        answer = await self._command(b"EXAMINE", arguments=(folder.raw,), refusal=True, keep=True)
        if isinstance(answer, str):
            raise FolderUnavailable(folder.name, answer)
        uidvalidity = uidnext = None
        exists = 0
        for response in self._kept:
            code = response.code()
            if code and code[0] == "UIDVALIDITY" and code[1].isdigit():
                uidvalidity = int(code[1])
            elif code and code[0] == "UIDNEXT" and code[1].isdigit():
                uidnext = int(code[1])
            words = response.text.split()
            if len(words) == 3 and words[2].upper() == b"EXISTS" and words[1].isdigit():
                exists = int(words[1])
        if uidvalidity is None:
            raise SourceProtocolError(self.endpoint, f"EXAMINE {folder.name}: no UIDVALIDITY")
        return FolderState(uidvalidity, uidnext, exists)

    async def sizes(self, above: int = 0) -> list[tuple[int, int]]:
        """(UID, RFC822.SIZE) of every message of the open folder with a UID above `above`."""
        found: list[tuple[int, int]] = []
        for response in await self._simple(b"UID FETCH %d:* (UID RFC822.SIZE)" % (above + 1)):
            item = _fetch_items(response)
            if item is None:
                continue
            uid, size = item.get("UID"), item.get("RFC822.SIZE")
            if isinstance(uid, str) and uid.isdigit() and int(uid) > above:
                found.append((int(uid), int(size) if isinstance(size, str) and size.isdigit() else 0))
        found.sort()
        return found

    async def fetch(
        self, batches: Iterable[Sequence[int]], *, ahead: int = 2
    ) -> AsyncGenerator[tuple[list[int], list[SourceMessage], str | None]]:
        """Each batch of UIDs, in the order given, with the messages the server returned for it
        and, when it answered NO (a message it cannot read), its words. Up to `ahead` batches are
        asked for before the first answer is read (pipelining). Dovecot runs such commands in
        parallel, so a FETCH response is matched to its batch by UID, and a batch is handed over
        only when it and every batch before it are answered (a checkpoint never skips one).
        Stopping early leaves answers unread: close then."""
        pending: deque[_Pending] = deque()
        by_tag: dict[bytes, _Pending] = {}
        by_uid: dict[int, _Pending] = {}
        remaining = iter(batches)

        def send_next() -> None:
            uids = next(remaining, None)
            if uids is None:
                return
            uids = sorted(uids)
            tag = self._next_tag()
            self._writer.write(tag + b" UID FETCH " + uid_set(uids) + b" " + FETCH_ITEMS + b"\r\n")
            self._in_flight += 1
            batch = _Pending(tag, uids)
            pending.append(batch)
            by_tag[tag] = batch
            by_uid.update(dict.fromkeys(uids, batch))

        for _ in range(max(1, ahead)):
            send_next()
        await self._drain()
        while pending:
            while pending[0].status is None:
                response = await self._read()
                if response.text.startswith(b"* "):
                    message = _message(response)
                    owner = by_uid.get(message.uid) if message is not None else None
                    if message is not None and owner is not None:
                        owner.found.append(message)
                    continue
                if response.text.startswith(b"+"):
                    continue
                tag, _, rest = response.text.partition(b" ")
                answered = by_tag.pop(tag, None)
                if answered is None:
                    raise SourceProtocolError(self.endpoint, "unexpected tag")
                self._in_flight -= 1
                status, _, words = rest.partition(b" ")
                if status.upper() not in (b"OK", b"NO"):
                    raise SourceProtocolError(self.endpoint, words.decode("utf-8", "replace")[:200])
                answered.status = status.upper()
                answered.words = words.decode("utf-8", "replace")[:200]
                send_next()
                await self._drain()
            current = pending.popleft()
            for uid in current.uids:
                by_uid.pop(uid, None)
            yield current.uids, current.found, current.words if current.status == b"NO" else None

    async def close(self) -> None:
        """Log out politely when nothing is in flight, then close the connection."""
        if self._in_flight == 0 and not self._writer.is_closing():
            with contextlib.suppress(SourceError, OSError, TimeoutError):
                async with asyncio.timeout(5):
                    await self._simple(b"LOGOUT")
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            async with asyncio.timeout(5):
                await self._writer.wait_closed()

    async def __aenter__(self) -> ImapSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- commands ---------------------------------------------------------------------------------

    def _next_tag(self) -> bytes:
        self._tag += 1
        return b"H%04d" % self._tag

    async def _simple(self, line: bytes) -> list[Response]:
        """Run a command that must succeed; its untagged responses."""
        answer = await self._command(line, keep=True)
        assert answer is None
        return self._kept

    async def _command(
        self,
        line: bytes,
        *,
        arguments: Sequence[str] = (),
        continuation: bytes | None = None,
        refusal: bool = False,
        keep: bool = False,
    ) -> str | None:
        """Send a command; None when it succeeded, the server's words when it said NO and
        `refusal` allows that. `keep` keeps the untagged responses in `_kept`."""
        tag = self._next_tag()
        self._kept = []
        parts = [tag + b" " + line]
        for argument in arguments:
            as_quoted = quoted(argument)
            if as_quoted is not None:
                parts.append(as_quoted)
            else:
                raw = argument.encode("utf-8")
                plus = "LITERAL+" in self.capabilities
                parts.append(b"{%d%s}" % (len(raw), b"+" if plus else b""))
                if plus:
                    parts[-1] += b"\r\n" + raw
                else:
                    await self._send(b" ".join(parts) + b"\r\n")
                    await self._expect_continuation()
                    parts = [raw]
        await self._send(b" ".join(parts) + b"\r\n")
        if continuation is not None:
            await self._expect_continuation()
            await self._send(continuation + b"\r\n")
        while True:
            response = await self._read()
            if response.text.startswith(b"* "):
                if response.text.upper().startswith(b"* BYE"):
                    continue  # the tagged answer or the end of the connection follows
                if keep:
                    self._kept.append(response)
                continue
            if response.text.startswith(b"+"):
                await self._send(b"*\r\n")  # an unexpected challenge: cancel it (RFC 9051 §6.2.2)
                continue
            got, _, rest = response.text.partition(b" ")
            if got != tag:
                raise SourceProtocolError(self.endpoint, "unexpected tag")
            status, _, words = rest.partition(b" ")
            text = words.decode("utf-8", "replace")[:300]
            if status.upper() == b"OK":
                return None
            if status.upper() == b"NO" and refusal:
                return text
            raise SourceProtocolError(self.endpoint, f"{line.split(b' ')[0].decode()}: {text}")

    async def _expect_continuation(self) -> None:
        response = await self._read()
        if not response.text.startswith(b"+"):
            raise SourceProtocolError(self.endpoint, response.text.decode("utf-8", "replace")[:200])

    async def _send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._drain()

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()
        except TimeoutError:
            raise SourceUnreachable(self.endpoint, "quá thời gian chờ / timed out") from None
        except OSError as error:
            raise SourceUnreachable(self.endpoint, error.strerror or type(error).__name__) from None

    async def _read(self) -> Response:
        """One whole response: its lines and literals, each bounded, within the timeout."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._read_response()
        except TimeoutError:
            raise SourceUnreachable(self.endpoint, "quá thời gian chờ / timed out") from None
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            raise SourceUnreachable(
                self.endpoint, f"mất kết nối / connection lost ({type(error).__name__})"
            ) from None
        except asyncio.LimitOverrunError:
            raise SourceProtocolError(self.endpoint, f"a line longer than {MAX_LINE} bytes") from None
        except ssl.SSLError as error:
            raise SourceUnreachable(self.endpoint, f"TLS: {error.reason or error}") from None
        except ValueError:  # StreamReader's own word for a line over its limit
            raise SourceProtocolError(self.endpoint, f"a line longer than {MAX_LINE} bytes") from None

    async def _read_response(self) -> Response:
        parts: list[bytes] = []
        literals: list[bytes | Oversized] = []
        total = 0
        while True:
            line = await self._reader.readuntil(b"\n")
            total += len(line)
            if total > MAX_TEXT:
                raise SourceProtocolError(self.endpoint, f"a response longer than {MAX_TEXT} bytes")
            found = LITERAL_AT_END.search(line)
            if found is None:
                parts.append(line.rstrip(b"\r\n"))
                return Response(b"".join(parts), literals)
            parts.append(line[: found.start()] + b"{%s}" % found.group(1))
            size = int(found.group(1))
            if size > self._literal_limit:
                left = size
                while left:
                    left -= len(await self._reader.readexactly(min(left, _DISCARD_CHUNK)))
                literals.append(Oversized(size))
            else:
                literals.append(await self._reader.readexactly(size))


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _fetch_items(response: Response) -> dict[str, Any] | None:
    """The items of a `* n FETCH (...)` response by upper-cased name, or None for another response."""
    words = response.text.split(b" ", 3)
    if len(words) < 4 or words[2].upper() != b"FETCH" or not words[1].isdigit():
        return None
    try:
        values = tokens(
            response.text, response.literals, start=len(words[0]) + len(words[1]) + len(words[2]) + 3
        )
    except WireError:
        return None
    if len(values) != 1 or not isinstance(values[0], list):
        return None
    pairs = values[0]
    items: dict[str, Any] = {}
    for at in range(0, len(pairs) - 1, 2):
        if isinstance(pairs[at], str):
            items[pairs[at].upper()] = pairs[at + 1]
    return items


def _message(response: Response) -> SourceMessage | None:
    items = _fetch_items(response)
    if items is None:
        return None
    uid = items.get("UID")
    if not (isinstance(uid, str) and uid.isdigit()):
        return None
    body = items.get("BODY[]")
    if body is None and "RFC822" in items:
        body = items["RFC822"]
    if not isinstance(body, bytes | Oversized):
        body = None
    flags = items.get("FLAGS")
    size = items.get("RFC822.SIZE")
    return SourceMessage(
        uid=int(uid),
        flags=tuple(f for f in flags if isinstance(f, str)) if isinstance(flags, list) else (),
        internal_date=internal_date(items.get("INTERNALDATE")),
        size=int(size) if isinstance(size, str) and size.isdigit() else 0,
        body=body,
    )
