"""Address lists (RFC 5322 §3.4) read the way IMAP ENVELOPE reports them (RFC 3501 §7.4.2), leniently.

Each address becomes `(name, route, mailbox, host)`; a group is opened by `(None, None, name, None)`
and closed by `(None, None, None, None)`. Broken input is repaired the way Dovecot repairs it
(`MISSING_MAILBOX`, `MISSING_DOMAIN`, `SYNTAX_ERROR`, `INVALID_ROUTE` placeholders), so that what
clients see from us matches what they saw from the server we replace. Values stay bytes here.
This reading shows mail; it never decides about it (who sent it, whether it forges us): that is
the strict reader's work, `mail.addresses`.
"""

from __future__ import annotations

from .rfc822 import NUL_REPLACEMENT, Rfc822

Address = tuple[bytes | None, bytes | None, bytes | None, bytes | None]

# What the address fields of one name (all To: fields, say) may give the envelope. A circular lists a
# few hundred people; a header of 2 MiB of commas gave 270,000 placeholder entries (13 s of parsing
# on the event loop, 52 bytes of stored envelope per comma). Past the limit the rest is not read; the
# message itself keeps every byte.
MAX_ADDRESSES = 2_000


class _AddressParser:
    __slots__ = ("addrs", "domain", "invalid", "limit", "mailbox", "name", "p", "route", "str")

    def __init__(self, value: bytes, limit: int) -> None:
        self.p = Rfc822(value, bytearray(), NUL_REPLACEMENT)
        self.str = bytearray()
        self.addrs: list[Address] = []
        self.limit = limit
        self._reset()

    def _full(self) -> bool:
        return len(self.addrs) >= self.limit

    def _reset(self) -> None:
        self.name: bytes | None = None
        self.route: bytes | None = None
        self.mailbox: bytes | None = None
        self.domain: bytes | None = None
        self.invalid = False

    def _add(self) -> None:
        self.addrs.append((self.name, self.route, self.mailbox, self.domain))
        self._reset()

    def _add_fixed(self) -> None:
        if self.mailbox is None:
            self.mailbox = b"MISSING_MAILBOX"
            self.invalid = True
        if not self.domain:
            self.domain = b"MISSING_DOMAIN"
            self.invalid = True
        self._add()

    def _local_part(self) -> int:
        # RFC 5322 §3.4.1 local-part = dot-atom / quoted-string / obs-local-part
        del self.str[:]
        p = self.p
        ret = p.parse_quoted_string(self.str) if p.peek() == 0x22 else p.parse_dot_atom(self.str)
        if ret < 0:
            return -1
        self.mailbox = bytes(self.str)
        return ret

    def _domain(self) -> int:
        del self.str[:]
        ret = self.p.parse_domain(self.str)
        if ret < 0:
            return -1
        self.domain = bytes(self.str)
        return ret

    def _domain_list(self) -> int:
        # RFC 5322 §4.4 obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain)
        p, s = self.p, self.str
        del s[:]
        while True:
            if p.pos >= p.end:
                return 0
            if p.data[p.pos] != 0x40:
                break
            if s:
                s.append(0x2C)
            s.append(0x40)
            ret = p.parse_domain(s)
            if ret <= 0:
                return ret
            while p.skip_lwsp() > 0 and p.data[p.pos] == 0x2C:
                p.pos += 1
        self.route = bytes(s)
        return 1

    def _angle_addr(self) -> int:
        # RFC 5322 §3.4 angle-addr = "<" [obs-route] addr-spec ">"
        p = self.p
        p.pos += 1
        if p.skip_lwsp() <= 0:
            return -1
        if p.data[p.pos] == 0x40:
            if self._domain_list() > 0 and p.peek() == 0x3A:
                p.pos += 1
            else:
                self.route = b"INVALID_ROUTE"
                if p.pos >= p.end:
                    return -1
            if p.skip_lwsp() <= 0:
                return -1
        if p.data[p.pos] != 0x3E:
            if self._local_part() <= 0:
                return -1
            if p.data[p.pos] == 0x40 and self._domain() <= 0:
                return -1
        if p.data[p.pos] != 0x3E:
            return -1
        p.pos += 1
        return p.skip_lwsp()

    def _name_addr(self) -> int:
        # RFC 5322 §3.4 name-addr = [display-name] angle-addr
        p = self.p
        del self.str[:]
        if p.parse_phrase(self.str) <= 0 or p.data[p.pos] != 0x3C:
            return -1
        self.name = bytes(self.str) or None
        if self._angle_addr() < 0:
            self.domain = b"SYNTAX_ERROR"
            self.invalid = True
        return 1 if p.pos < p.end else 0

    def _addr_spec(self) -> int:
        # RFC 5322 §3.4.1 addr-spec = local-part "@" domain; a lone word is a name or a mailbox
        p = self.p
        ret2 = -2
        lc = p.last_comment
        assert lc is not None
        del lc[:]
        quoted = p.peek() == 0x22
        ret = self._local_part()
        if ret <= 0:
            self.invalid = True
        if ret != 0 and p.pos < p.end and p.data[p.pos] == 0x40:
            ret2 = self._domain()
            if ret2 <= 0:
                ret = ret2
        if lc:
            self.name = bytes(lc)
        elif ret2 == -2:
            self.str.append(0x20)
            mark = len(self.str)
            p.parse_phrase(self.str)
            if len(self.str) != mark:
                self.mailbox = None
                self.name = bytes(self.str)
            elif not quoted:
                self.domain = b""
            self.invalid = True
            ret = -1
        return ret

    def _mailbox(self) -> int:
        # RFC 5322 §3.4 mailbox = name-addr / addr-spec
        start = self.p.pos
        ret = self._name_addr()
        if ret < 0:
            self.p.pos = start
            ret = self._addr_spec()
            if self.invalid and self.name is None and self.mailbox is not None and self.domain is None:
                self.name, self.mailbox = self.mailbox, None
        if ret < 0:
            self.invalid = True
        self._add_fixed()
        return ret

    def _group(self) -> int:
        # RFC 5322 §3.4 group = display-name ":" [group-list] ";" [CFWS]
        p = self.p
        del self.str[:]
        if p.parse_phrase(self.str) <= 0 or p.data[p.pos] != 0x3A:
            return -1
        p.pos += 1
        ret = p.skip_lwsp()
        if ret <= 0:
            self.invalid = True
        self.mailbox = bytes(self.str)
        self._add()
        if ret > 0 and p.data[p.pos] != 0x3B:
            while not self._full():
                self._mailbox()
                if p.pos >= p.end or p.data[p.pos] != 0x2C:
                    break
                p.pos += 1
                if p.skip_lwsp() <= 0:
                    ret = -1
                    break
        if ret >= 0:
            if p.pos >= p.end or p.data[p.pos] != 0x3B:
                ret = -1
            else:
                p.pos += 1
                ret = p.skip_lwsp()
        self._add()
        return 0 if ret == 0 else 1

    def parse(self) -> list[Address]:
        p = self.p
        if self.limit <= 0 or p.skip_lwsp() <= 0:
            return self.addrs
        while not self._full():
            start = p.pos
            ret = self._group()
            if ret < 0:
                p.pos = start
                ret = self._mailbox()
            if ret == 0:
                break
            if p.pos >= p.end or p.data[p.pos] != 0x2C:
                break
            p.pos += 1
            ret = p.skip_lwsp()
            if ret <= 0:
                if ret < 0:
                    self._add_fixed()  # ends with garbage
                break
        return self.addrs


def parse_addresses(value: bytes, limit: int = MAX_ADDRESSES) -> list[Address]:
    """The addresses and group markers in a header value, at most `limit`; empty when there is none."""
    return _AddressParser(value, limit).parse()
