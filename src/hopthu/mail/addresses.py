"""Address lists read strictly (RFC 5322 §3.4): the one reading of who sent a message.

The IMAP ENVELOPE repairs broken headers the way Dovecot does (`lenient.parse_addresses`, kept
here under its old name for the envelope's callers); that is right for showing mail, wrong for
deciding about it. Whoever decides (the send-as right R3.2/R8.2, the forged-domain check R3.2, the
webmail's recipient fields) reads addresses here instead, where a header has exactly one reading or
is refused:

- the grammar of §3.4 (mailbox, name-addr, angle-addr, group, addr-spec, display names as phrases
  of atoms and quoted strings, comments anywhere CFWS may be), with the obsolete forms of §4.4 that
  change nothing about the address (a route in angle brackets, empty list elements, a dotted
  local-part of quoted words, a "." in a phrase); white space or comments inside an addr-spec are
  refused, and so is any control character other than folding white space;
- a display name or comment that itself holds an address other than the one in angle brackets is
  refused as ambiguous (`"me@cantho.gov.vn" <giamdoc@cantho.gov.vn>` shows one address and sends as
  another); so are several From: fields, several From: mailboxes without one Sender: (§3.6.2), and a
  Sender: that is not one mailbox.

The reader is one pass over the text with no backtracking (each character is looked at a bounded
number of times), and refuses input longer than its `limit` before reading it, so a hostile header
costs time in proportion to its bounded length. Non-ASCII text is allowed in names and addresses
(RFC 6532 §3.2). Every refusal is an `AddressError`, carrying the domains the text names anywhere
(names and comments too), so a caller can tell whether a refused header claims to be from us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .headers import decode_words
from .lenient import Address, parse_addresses

__all__ = [
    "AUTHOR_FIELD",
    "MAX_FIELD",
    "Address",
    "AddressError",
    "Author",
    "Group",
    "Mailbox",
    "header_fields",
    "mailboxes",
    "mentioned_domains",
    "parse_addresses",
    "read_address_list",
    "read_author",
    "read_mailbox",
    "read_mailbox_list",
]

MAX_FIELD = 256 * 1024  # the longest address field read (500 recipients take about 40 KB)
AUTHOR_FIELD = 16 * 1024  # the longest From:, Sender: or Reply-To: read; one person needs < 1 KB
_MAX_NESTING = 64  # comments nested deeper than this are refused, not followed

# RFC 5322 §3.2.3 atext (ASCII part); any non-ASCII character is atext too (RFC 6532 §3.2).
_ATEXT = frozenset("!#$%&'*+-/=?^_`{|}~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# Quoted text without quoted pairs, line breaks or controls (RFC 5322 §3.2.4 qtext and WSP).
_QUOTED_PLAIN = re.compile(r"[^\\\x00-\x08\x0a-\x1f\x7f\x80-\x9f\u2028\u2029]*")
# One character class, no nesting: a run is found in one linear pass.
_ATOM_RUN = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00a0-\u2027\u202a-\U0010ffff]+")
_SPECIALS = frozenset('()<>[]:;@\\,."')
_WSP = " \t"
# Characters that end an address seen inside free text (a name or a comment).
_TEXT_STOP = frozenset(" \t\r\n<>()[]\"',;:@")


class AddressError(ValueError):
    """An address field that has no single clean reading. `reason` is a short English phrase;
    `domains` are the domains named anywhere in the text (lowercase), even where it is broken."""

    def __init__(self, reason: str, domains: Iterable[str] = (), *, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.domains = tuple(dict.fromkeys(domains))
        self.ambiguous = ambiguous  # well formed, but read differently by different programs


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One mailbox: its display name for people (RFC 2047 decoded, "" when none) and its address."""

    name: str
    local: str
    domain: str

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"


@dataclass(frozen=True, slots=True)
class Group:
    """RFC 5322 §3.4 group: a name and its (possibly empty) list of mailboxes."""

    name: str
    members: tuple[Mailbox, ...] = ()


@dataclass(frozen=True, slots=True)
class Author:
    """Who a message says it is from: the From: mailboxes and the Sender: mailbox, if any
    (RFC 5322 §3.6.2). `sender` is the one responsible for sending: Sender:, else the one From:."""

    authors: tuple[Mailbox, ...]
    sender_field: Mailbox | None = None
    reply_to: tuple[Mailbox, ...] = field(default=())

    @property
    def sender(self) -> Mailbox:
        return self.sender_field or self.authors[0]


# --- the tokens of RFC 5322 §3.2 ----------------------------------------------------------------

_ATOM, _QUOTED, _LITERAL, _SPECIAL = 1, 2, 3, 4


@dataclass(slots=True)
class _Token:
    kind: int
    text: str  # the atom, the quoted string's content, the literal with its brackets, the special
    spaced: bool  # white space or a comment came right before it
    comments: list[str]  # comments right before it


class _Lexer:
    """Splits a field into tokens in one pass; refuses controls, unbalanced quotes, brackets and
    parentheses. A fold (CRLF then white space, §2.2.3) is white space; any other CR or LF is not."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[_Token] = []
        self.trailing: list[str] = []  # comments after the last token

    def run(self) -> list[_Token]:
        text, end = self.text, len(self.text)
        spaced, comments = False, []
        while self.pos < end:
            ch = text[self.pos]
            if ch in _WSP:
                self.pos += 1
                spaced = True
            elif ch == "\r" or ch == "\n":
                self._fold()
                spaced = True
            elif ch == "(":
                comments.append(self._comment())
                spaced = True
            elif ch == '"':
                self.tokens.append(_Token(_QUOTED, self._quoted(), spaced, comments))
                spaced, comments = False, []
            elif ch == "[":
                self.tokens.append(_Token(_LITERAL, self._literal(), spaced, comments))
                spaced, comments = False, []
            elif ch in _SPECIALS:
                if ch in ")]\\":
                    raise AddressError(f"unexpected {ch!r}")
                self.tokens.append(_Token(_SPECIAL, ch, spaced, comments))
                self.pos += 1
                spaced, comments = False, []
            elif ch in _ATEXT or (ord(ch) > 0x7F and not _control(ch)):
                start = self.pos
                match = _ATOM_RUN.match(text, start)
                assert match is not None
                self.pos = match.end()
                self.tokens.append(_Token(_ATOM, text[start : self.pos], spaced, comments))
                spaced, comments = False, []
            else:
                raise AddressError("control character")
        self.trailing = comments
        return self.tokens

    def _fold(self) -> None:
        text, pos = self.text, self.pos
        if text.startswith("\r\n", pos):
            pos += 2
        elif text[pos] == "\n":  # a bare LF line end, as some stores keep them
            pos += 1
        else:
            raise AddressError("bare CR")
        if pos >= len(text) or text[pos] not in _WSP:
            raise AddressError("line break inside a field")
        self.pos = pos

    def _quoted(self) -> str:
        """RFC 5322 §3.2.4 quoted-string; the content without its quoting."""
        text, end = self.text, len(self.text)
        start = self.pos + 1
        close = text.find('"', start)
        if close > 0 and _QUOTED_PLAIN.fullmatch(text, start, close):  # the common case, in C
            self.pos = close + 1
            return text[start:close]
        out: list[str] = []
        pos = self.pos + 1
        start = pos
        while pos < end:
            ch = text[pos]
            if ch == '"':
                out.append(text[start:pos])
                self.pos = pos + 1
                return "".join(out)
            if ch == "\\":
                if pos + 1 >= end or (_control(text[pos + 1]) and text[pos + 1] != "\t"):
                    raise AddressError("bad quoted pair")
                out.append(text[start:pos])
                start = pos + 1
                pos += 2
                continue
            if ch == "\r" or ch == "\n":
                out.append(text[start:pos])
                self.pos = pos
                self._fold()
                pos = start = self.pos
                continue
            if _control(ch) and ch != "\t":
                raise AddressError("control character in quotes")
            pos += 1
        raise AddressError("unbalanced quotes")

    def _comment(self) -> str:
        """RFC 5322 §3.2.2 comment, nested; its text (inner parentheses kept) for the name check."""
        text, end = self.text, len(self.text)
        depth = 0
        pos = self.pos
        out: list[str] = []
        start = pos + 1
        while pos < end:
            ch = text[pos]
            if ch == "(":
                depth += 1
                if depth > _MAX_NESTING:
                    raise AddressError("comments nested too deep")
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    out.append(text[start:pos])
                    self.pos = pos + 1
                    return "".join(out)
            elif ch == "\\":
                if pos + 1 >= end or (_control(text[pos + 1]) and text[pos + 1] != "\t"):
                    raise AddressError("bad quoted pair")
                out.append(text[start:pos])
                start = pos + 1
                pos += 2
                continue
            elif ch == "\r" or ch == "\n":
                out.append(text[start:pos])
                self.pos = pos
                self._fold()
                pos = start = self.pos
                continue
            elif _control(ch) and ch != "\t":
                raise AddressError("control character in a comment")
            pos += 1
        raise AddressError("unbalanced parentheses")

    def _literal(self) -> str:
        """RFC 5322 §3.4.1 domain-literal, without folding or quoted pairs inside."""
        end = self.text.find("]", self.pos)
        if end < 0:
            raise AddressError("unbalanced brackets")
        inner = self.text[self.pos + 1 : end]
        if any(ch in "[\\" or _control(ch) or ch in " \t" for ch in inner):
            raise AddressError("bad domain literal")
        self.pos = end + 1
        return f"[{inner}]"


def _control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code in (0x2028, 0x2029)


# --- the grammar of RFC 5322 §3.4 -----------------------------------------------------------------


class _Reader:
    """Recursive descent over the tokens, one token of look-ahead, never backtracking."""

    def __init__(self, tokens: list[_Token], trailing: list[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.trailing = trailing

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def special(self, ch: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == _SPECIAL and token.text == ch

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def comments_after(self) -> list[str]:
        token = self.peek()
        return token.comments if token is not None else self.trailing

    def address_list(self, *, groups: bool) -> list[Mailbox | Group]:
        """address-list (or mailbox-list without groups); obs-addr-list's empty elements skipped."""
        items: list[Mailbox | Group] = []
        while self.peek() is not None:
            if self.special(","):
                self.take()
                continue
            items.append(self.address(groups=groups, in_group=False))
            after = self.peek()
            if self.special("<"):
                raise AddressError("an address followed by another in angle brackets", ambiguous=True)
            if after is not None and not self.special(","):
                raise AddressError(f"unexpected {after.text!r} after an address")
        return items

    def address(self, *, groups: bool, in_group: bool) -> Mailbox | Group:
        """address = mailbox / group; the phrase before "<", ":" or "@" decides which."""
        start = self.i
        words: list[_Token] = []
        while True:
            token = self.peek()
            if token is None or token.kind == _LITERAL:
                break
            if token.kind == _SPECIAL and token.text != ".":
                break
            words.append(self.take())
        token = self.peek()
        if token is not None and token.kind == _SPECIAL and token.text == "<":
            if words and (words[0].kind == _SPECIAL):
                raise AddressError("display name starts with '.'")
            return self.name_addr(words)
        if token is not None and token.kind == _SPECIAL and token.text == ":":
            if not groups or in_group:
                raise AddressError("a group where a mailbox must be")
            if not words:
                raise AddressError("a group without a name")
            return self.group(words)
        if token is not None and token.kind == _SPECIAL and token.text == "@":
            self.i = start
            return self.addr_spec_mailbox()
        if not words:
            raise AddressError("an empty address" if token is None else f"unexpected {token.text!r}")
        raise AddressError("a name without an address")

    def name_addr(self, words: list[_Token]) -> Mailbox:
        # RFC 5322 §3.4 name-addr = [display-name] angle-addr
        opening = self.take()  # "<"
        notes = [c for w in words for c in w.comments] + opening.comments
        if self.special("@"):  # §4.4 obs-route = obs-domain-list ":", which says nothing of the address
            while self.special("@") or self.special(","):
                if self.take().text == "@":
                    self.domain()
            if not self.special(":"):
                raise AddressError("bad route")
            self.take()
        first = self.peek()
        if first is not None and (first.comments or first.spaced):
            notes += first.comments
        local, domain = self.addr_spec(inside=True)
        if not self.special(">"):
            raise AddressError("unbalanced angle brackets")
        closing = self.take()
        notes += closing.comments + self.comments_after()
        name = _phrase(words)
        mailbox = Mailbox(name, local, domain)
        _check_names(mailbox, [name, *notes])
        return mailbox

    def addr_spec_mailbox(self) -> Mailbox:
        first = self.peek()
        notes = list(first.comments) if first is not None else []
        local, domain = self.addr_spec(inside=False)
        after = self.comments_after()
        notes += after
        # An old habit (§3.4 and RFC 822): `address (Name)`; the comment is the name people see.
        mailbox = Mailbox(" ".join(" ".join(c.split()) for c in after).strip(), local, domain)
        _check_names(mailbox, notes)
        return mailbox

    def addr_spec(self, *, inside: bool) -> tuple[str, str]:
        """addr-spec = local-part "@" domain, with no white space or comment inside."""
        parts: list[str] = []
        expect_word = True
        while True:
            token = self.peek()
            if token is None:
                raise AddressError("an address without '@'")
            if parts and (token.spaced or token.comments):
                raise AddressError("white space inside an address")
            if expect_word and token.kind in (_ATOM, _QUOTED):
                if token.kind == _QUOTED:
                    parts.append(_quote_local(token.text))
                else:
                    parts.append(token.text)
                self.take()
                expect_word = False
            elif not expect_word and token.kind == _SPECIAL and token.text == ".":
                parts.append(".")
                self.take()
                expect_word = True
            elif not expect_word and token.kind == _SPECIAL and token.text == "@":
                break
            else:
                raise AddressError("bad local part" if token.text != ">" or not inside else "no '@'")
        at = self.take()
        if at.spaced or at.comments:
            raise AddressError("white space inside an address")
        local = "".join(parts)
        domain = self.domain(tight=True)
        return local, domain

    def domain(self, *, tight: bool = False) -> str:
        """domain = dot-atom / domain-literal (obs-domain is the same atoms without CFWS here)."""
        token = self.peek()
        if token is None:
            raise AddressError("an address without a domain")
        if tight and (token.spaced or token.comments):
            raise AddressError("white space inside an address")
        if token.kind == _LITERAL:
            self.take()
            return token.text
        labels: list[str] = []
        while True:
            token = self.peek()
            if token is None or token.kind != _ATOM:
                raise AddressError("bad domain")
            if labels and tight and (token.spaced or token.comments):
                raise AddressError("white space inside an address")
            labels.append(self.take().text)
            nxt = self.peek()
            if nxt is None or not (nxt.kind == _SPECIAL and nxt.text == "."):
                break
            if tight and (nxt.spaced or nxt.comments):
                raise AddressError("white space inside an address")
            self.take()
        return ".".join(labels)

    def group(self, words: list[_Token]) -> Group:
        # RFC 5322 §3.4 group = display-name ":" [group-list] ";" [CFWS]
        self.take()  # ":"
        members: list[Mailbox] = []
        while not self.special(";"):
            if self.peek() is None:
                raise AddressError("a group without ';'")
            if self.special(","):
                self.take()
                continue
            member = self.address(groups=True, in_group=True)
            assert isinstance(member, Mailbox)
            members.append(member)
            if not (self.special(",") or self.special(";")):
                raise AddressError("unexpected text in a group")
        self.take()  # ";"
        name = _phrase(words)
        for member in members:
            _check_names(member, [name])
        return Group(name, tuple(members))


def _quote_local(text: str) -> str:
    """A quoted local-part word as written on the wire (kept quoted: it is part of the address)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _phrase(words: Sequence[_Token]) -> str:
    """The display name for people: words joined by single spaces, encoded words decoded
    (RFC 2047 §5 (3)), control characters already refused by the lexer."""
    if not words:
        return ""
    pieces: list[str] = []
    for token in words:
        if token.kind == _QUOTED:
            pieces.append((" " if pieces and token.spaced else "") + token.text)
        elif token.kind == _SPECIAL:  # §4.1 obs-phrase allows "."
            pieces.append(token.text)
        else:
            pieces.append((" " if pieces and token.spaced else "") + token.text)
    raw = "".join(pieces)
    decoded = decode_words(raw.encode("utf-8", "surrogatepass")) if "=?" in raw else raw
    return " ".join(decoded.split())


def _addresses_in(text: str) -> list[tuple[str, str]]:
    """(local, domain) of every `x@y` in free text, lowercase; linear: each "@" looks left and right
    only up to the nearest stop character or other "@"."""
    found: list[tuple[str, str]] = []
    pos = text.find("@")
    while pos >= 0:
        left = pos
        while left > 0 and text[left - 1] not in _TEXT_STOP:
            left -= 1
        right = pos + 1
        while right < len(text) and text[right] not in _TEXT_STOP:
            right += 1
        domain = text[pos + 1 : right].strip(".").lower()
        if "." in domain:  # "Lan @ nhà" or "@home" name no address
            found.append((text[left:pos].lower(), domain))
        pos = text.find("@", pos + 1)
    return found


def _check_names(mailbox: Mailbox, texts: Iterable[str]) -> None:
    """A name or comment that names another address than the mailbox's is ambiguous."""
    own = (mailbox.local.lower(), mailbox.domain.lower())
    for text in texts:
        if "@" not in text and "=?" not in text:
            continue
        shown = decode_words(text.encode("utf-8", "surrogatepass")) if "=?" in text else text
        others = [found for found in _addresses_in(shown) if found != own]
        if others:
            raise AddressError(
                "a name holds another address",
                [mailbox.domain.lower(), *(domain for _local, domain in others)],
                ambiguous=True,
            )


# --- entry points ---------------------------------------------------------------------------------


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _read(value: str | bytes, *, groups: bool, limit: int) -> list[Mailbox | Group]:
    if len(value) > limit:
        raise AddressError("address field too long")
    text = _text(value)
    try:
        lexer = _Lexer(text)
        return _Reader(lexer.run(), lexer.trailing).address_list(groups=groups)
    except AddressError as error:
        if not error.domains:
            error.domains = mentioned_domains(text)
        raise
    except RecursionError as error:  # pragma: no cover - the reader does not recurse on input
        raise AddressError("too deep", mentioned_domains(text)) from error


def read_address_list(value: str | bytes, *, limit: int = MAX_FIELD) -> list[Mailbox | Group]:
    """RFC 5322 §3.4 address-list (To:, Cc:, Reply-To:); raises `AddressError`."""
    return _read(value, groups=True, limit=limit)


def read_mailbox_list(value: str | bytes, *, limit: int = MAX_FIELD) -> list[Mailbox]:
    """RFC 5322 §3.4 mailbox-list (From:): mailboxes only, at least one; raises `AddressError`."""
    items = _read(value, groups=False, limit=limit)
    if not items:
        raise AddressError("no address")
    return [item for item in items if isinstance(item, Mailbox)]


def read_mailbox(value: str | bytes, *, limit: int = MAX_FIELD) -> Mailbox:
    """Exactly one mailbox (Sender:, or one recipient as typed); raises `AddressError`."""
    items = read_mailbox_list(value, limit=limit)
    if len(items) != 1:
        raise AddressError("more than one address", {m.domain.lower() for m in items}, ambiguous=True)
    return items[0]


def mailboxes(items: Iterable[Mailbox | Group]) -> list[Mailbox]:
    """Every mailbox of a list, the members of its groups included."""
    out: list[Mailbox] = []
    for item in items:
        out.extend(item.members if isinstance(item, Group) else (item,))
    return out


def mentioned_domains(value: str | bytes) -> tuple[str, ...]:
    """Every domain named after an "@" anywhere in the text (names, comments and encoded words
    included), lowercase: what a refused header may claim. Linear in the text."""
    text = _text(value)
    shown = decode_words(text.encode("utf-8", "surrogatepass")) if "=?" in text else ""
    domains = [domain.strip("[]") for _local, domain in _addresses_in(text + " " + shown)]
    return tuple(dict.fromkeys(d for d in domains if d))


def header_fields(header: bytes, names: Iterable[bytes]) -> dict[bytes, list[bytes]]:
    """The values of the named fields (lowercase names) in a header block, each unfolded only of
    its line ends' meaning (the value keeps its CRLF-WSP folds), in order. Linear in the block."""
    wanted = {name.lower() for name in names}
    found: dict[bytes, list[bytes]] = {name: [] for name in wanted}
    current: bytearray | None = None
    for line in header.split(b"\n"):
        if line in (b"", b"\r"):
            break
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current += b"\n" + line.rstrip(b"\r")
            continue
        name, colon, value = line.partition(b":")
        key = name.rstrip(b" \t").lower()
        if colon and key in wanted:
            current = bytearray(value.rstrip(b"\r"))
            found[key].append(current)  # type: ignore[arg-type]
        else:
            current = None
    return {name: [bytes(v) for v in values] for name, values in found.items()}


def read_author(header: bytes) -> Author:
    """From:, Sender: and Reply-To: of a header block, read strictly (RFC 5322 §3.6.2, §3.6.3).

    Refused (`AddressError`, `ambiguous` set) when a field is given twice, when From: names several
    mailboxes without a Sender:, when Sender: is not one mailbox, and when any of them fails
    `read_address_list`. The error's `domains` gather every domain all three fields name."""
    fields = header_fields(header, (b"from", b"sender", b"reply-to"))
    every = [value for values in fields.values() for value in values]

    def refuse(reason: str, cause: AddressError | None = None) -> AddressError:
        domains = [d for value in every for d in mentioned_domains(value)]
        return AddressError(reason, [*(cause.domains if cause else ()), *domains], ambiguous=True)

    if len(fields[b"from"]) != 1:
        raise refuse("no From: field" if not fields[b"from"] else "several From: fields")
    if len(fields[b"sender"]) > 1 or len(fields[b"reply-to"]) > 1:
        raise refuse("a Sender: or Reply-To: field given twice")
    if any(len(value) > AUTHOR_FIELD for value in every):
        raise refuse("an author field too long")
    try:
        authors = read_mailbox_list(fields[b"from"][0], limit=AUTHOR_FIELD)
        sender = read_mailbox(fields[b"sender"][0], limit=AUTHOR_FIELD) if fields[b"sender"] else None
        reply_to = (
            mailboxes(read_address_list(fields[b"reply-to"][0], limit=AUTHOR_FIELD))
            if fields[b"reply-to"]
            else []
        )
    except AddressError as error:
        raise refuse(error.reason, error) from error
    if len(authors) > 1 and sender is None:
        raise refuse("several From: addresses without a Sender:")
    return Author(tuple(authors), sender, tuple(reply_to))
