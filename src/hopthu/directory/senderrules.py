"""Block and allow lists of senders: a person's own (webmail settings) and the city's (the portal).

A rule names an address (`ban@example.org`) or a whole domain (`@example.org`, its subdomains
included), lower case. What each list does is decided where mail is judged: the city's block list
refuses at DATA (550), its allow list keeps a score from filing to Thư rác (`protection.inspector`);
a person's block list files to their Thư rác, their allow list keeps mail that only scored as spam in
their inbox (`smtp.pipeline`). Malware and dangerous files are refused whatever the lists say.

Which rule wins when several name a sender: one naming the address beats one naming its domain, a
nearer domain beats a farther one, and at the same level "block" beats "allow". A pattern is on one
of an owner's two lists at a time: adding it to the other moves it.

The city's lists are asked about for every message from outside, so they are kept in memory
(`directory.keptsets`): read again after a change made here and every `REFRESH_SECONDS` (a change
made on another node). A
person's lists are read for the recipients of a message in one query, asked only about those who
have any rule at all (`directory.keptsets`: nearly always nobody).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.directory.keptsets import REFRESH_SECONDS as REFRESH_SECONDS  # the city's lists' too
from hopthu.directory.keptsets import Kept, KeptAccounts
from hopthu.errors import HopThuError, NotFound
from hopthu.store.events import settings_changed
from hopthu.store.schema import sender_rule

KINDS = ("block", "allow")
MAX_PATTERN = 254  # an address's longest path (RFC 5321 §4.5.3.1.3)
PERSONAL_LIMIT = 500  # rules per person, both lists together
CITY_LIMIT = 10_000  # rules of the city, both lists together
SENDERS_CONSIDERED = 8  # addresses of one message asked about (envelope sender and From:)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")


@dataclass(frozen=True, slots=True)
class SenderRule:
    id: int
    kind: str
    pattern: str
    created_by: str


def normalise(pattern: str) -> str:
    """A pattern as stored: an address or "@domain", lower case, checked; HopThuError otherwise."""
    text = pattern.strip().lower()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text:
        raise HopThuError("Hãy nhập một địa chỉ hoặc @tên-miền", "Enter an address or @domain")
    if len(text) > MAX_PATTERN:
        raise HopThuError(
            f"Địa chỉ dài quá {MAX_PATTERN} ký tự", f"The address is longer than {MAX_PATTERN} characters"
        )
    local, at, domain = text.rpartition("@")
    if not at:
        if _DOMAIN.fullmatch(text):
            return "@" + text  # a bare domain means the domain
        raise _not_a_pattern(pattern)
    if not _DOMAIN.fullmatch(domain) or (local and not _LOCAL.fullmatch(local)) or ".." in local:
        raise _not_a_pattern(pattern)
    return f"{local}@{domain}" if local else f"@{domain}"


def _not_a_pattern(pattern: str) -> HopThuError:
    shown = pattern.strip()[:80]
    return HopThuError(
        f"“{shown}” không phải địa chỉ thư hay @tên-miền (ví dụ ban@example.org, @example.org)",
        f"“{shown}” is neither an address nor @domain (e.g. ban@example.org, @example.org)",
    )


def candidates(sender: str) -> list[str]:
    """The patterns that name `sender`, most specific first: the address, its domain, the domains
    above it (not the top-level one alone)."""
    sender = sender.strip().lower()
    local, at, domain = sender.rpartition("@")
    if not at or not local or not domain:
        return []
    found = [sender[:MAX_PATTERN]]
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        found.append("@" + ".".join(labels[start:]))
    return found


def decide(rules: dict[str, str], senders: Iterable[str]) -> str | None:
    """ "block" or "allow" by the most specific rule naming one of `senders`; None if none does."""
    levels: dict[int, set[str]] = {}
    for sender in list(senders)[:SENDERS_CONSIDERED]:
        for level, pattern in enumerate(candidates(sender)):
            kind = rules.get(pattern)
            if kind is not None:
                levels.setdefault(level, set()).add(kind)
    if not levels:
        return None
    kinds = levels[min(levels)]
    return "block" if "block" in kinds else "allow"


def _words(kind: str) -> tuple[str, str]:
    return ("danh sách chặn", "block list") if kind == "block" else ("danh sách cho phép", "allow list")


class SenderRuleService:
    def __init__(self, ctx: DirectoryContext, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self._city = Kept(self._city_rules, monotonic=monotonic)
        self._personal = KeptAccounts(ctx.store.events, self._accounts_with_rules, monotonic=monotonic)

    # --- what the mail path asks ----------------------------------------------------------------

    async def city(self, senders: Collection[str]) -> str | None:
        """The city's verdict on a message's senders (`protection.inspector.SenderRules`)."""
        rules = await self._city.value()
        return decide(rules, senders) if rules else None

    async def for_recipients(self, account_ids: set[int], senders: set[str]) -> dict[int, str]:
        """Each recipient's own verdict on the senders (`smtp.pipeline.PersonalRules`), one query."""
        names = {p for sender in list(senders)[:SENDERS_CONSIDERED] for p in candidates(sender)}
        if not names:
            return {}
        account_ids = await self._personal.among(account_ids)
        if not account_ids:
            return {}
        rows = await self.ctx.store.db.tuples(
            _PERSONAL, {"accounts": sorted(account_ids), "patterns": sorted(names)}
        )
        by_account: dict[int, dict[str, str]] = {}
        for account_id, pattern, kind in rows:
            by_account.setdefault(account_id, {})[pattern] = kind
        found = {account_id: decide(rules, senders) for account_id, rules in by_account.items()}
        return {account_id: kind for account_id, kind in found.items() if kind is not None}

    async def _city_rules(self) -> dict[str, str]:
        rows = await self.ctx.store.db.all(
            sa.select(sender_rule.c.pattern, sender_rule.c.kind).where(sender_rule.c.account_id.is_(None))
        )
        return dict(rows)

    async def _accounts_with_rules(self) -> set[int]:
        return {int(row[0]) for row in await self.ctx.store.db.all(_HAVING_RULES, large=True)}

    # --- what people and operators do -----------------------------------------------------------

    async def listing(self, account_id: int | None) -> list[SenderRule]:
        """A person's rules (None: the city's), by kind then pattern."""
        owner = (
            sender_rule.c.account_id.is_(None)
            if account_id is None
            else sender_rule.c.account_id == account_id
        )
        rows = await self.ctx.store.db.all(
            sa.select(sender_rule.c.id, sender_rule.c.kind, sender_rule.c.pattern, sender_rule.c.created_by)
            .where(owner)
            .order_by(sender_rule.c.kind, sender_rule.c.pattern)
        )
        return [SenderRule(*row) for row in rows]

    async def add(self, account_id: int | None, kind: str, pattern: str, *, actor: str) -> SenderRule:
        """Put a pattern on a person's list (None: the city's; audited). On the other list already,
        it moves."""
        if kind not in KINDS:
            raise HopThuError("Danh sách không hợp lệ", "Unknown list")
        pattern = normalise(pattern)
        ours = self.ctx.settings.server.domain.lower()
        domain = pattern.rpartition("@")[2]
        if account_id is None and (domain == ours or domain.endswith("." + ours)):
            raise HopThuError(
                "Không đặt quy tắc cho tên miền của thành phố (thư mạo danh đã bị DMARC chặn)",
                "No rule for the city's own domain (forged mail is already refused by DMARC)",
            )
        limit = CITY_LIMIT if account_id is None else PERSONAL_LIMIT
        owner = (
            sender_rule.c.account_id.is_(None)
            if account_id is None
            else sender_rule.c.account_id == account_id
        )
        now = self.ctx.now()
        vi, en = _words(kind)
        async with self.ctx.store.db.write() as conn:
            existing = (
                await conn.execute(
                    sa.select(sender_rule.c.id, sender_rule.c.kind).where(
                        owner, sender_rule.c.pattern == pattern
                    )
                )
            ).first()
            if existing is not None and existing.kind == kind:
                raise HopThuError(f"{pattern} đã có trong {vi}", f"{pattern} is already on the {en}")
            if existing is not None:
                await conn.execute(
                    sa.update(sender_rule)
                    .where(sender_rule.c.id == existing.id)
                    .values(kind=kind, created_at=now, created_by=actor[:320])
                )
                rule_id = existing.id
            else:
                count = (
                    await conn.execute(sa.select(sa.func.count()).select_from(sender_rule).where(owner))
                ).scalar_one()
                if count >= limit:
                    raise HopThuError(
                        f"Danh sách đã đủ {limit} mục; hãy xóa bớt trước khi thêm",
                        f"The lists already hold {limit} entries; remove some before adding",
                    )
                rule_id = (
                    await conn.execute(
                        sa.insert(sender_rule)
                        .values(
                            account_id=account_id,
                            kind=kind,
                            pattern=pattern,
                            created_at=now,
                            created_by=actor[:320],
                        )
                        .returning(sender_rule.c.id)
                    )
                ).scalar_one()
            if account_id is None:
                await audit.record(
                    conn,
                    at=now,
                    actor=actor,
                    action=f"sender_rule.{kind}",
                    target=pattern,
                    details={"scope": "city", "moved": existing is not None},
                )
        self._changed(account_id)
        return SenderRule(rule_id, kind, pattern, actor)

    async def remove(self, account_id: int | None, rule_id: int, *, actor: str) -> SenderRule:
        """Take a rule off a person's lists (None: the city's; audited). NotFound when it is not theirs."""
        owner = (
            sender_rule.c.account_id.is_(None)
            if account_id is None
            else sender_rule.c.account_id == account_id
        )
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        sender_rule.c.id, sender_rule.c.kind, sender_rule.c.pattern, sender_rule.c.created_by
                    ).where(owner, sender_rule.c.id == rule_id)
                )
            ).first()
            if row is None:
                raise NotFound("Không có quy tắc này", "No such rule")
            await conn.execute(sa.delete(sender_rule).where(sender_rule.c.id == rule_id))
            if account_id is None:
                await audit.record(
                    conn,
                    at=now,
                    actor=actor,
                    action="sender_rule.removed",
                    target=row.pattern,
                    details={"scope": "city", "kind": row.kind},
                )
        self._changed(account_id)
        return SenderRule(*row)

    def _changed(self, account_id: int | None) -> None:
        """After the commit: the city's lists are read again here; a person's change is told to
        every node, whose delivery then reads again who has rules."""
        if account_id is None:
            self._city.forget()
        else:
            self.ctx.store.events.publish(settings_changed(account_id))


# Asked for every message the MX takes: one statement object, so its compiled form is kept.
_PERSONAL = sa.select(sender_rule.c.account_id, sender_rule.c.pattern, sender_rule.c.kind).where(
    sender_rule.c.account_id.in_(sa.bindparam("accounts", expanding=True)),
    sender_rule.c.pattern.in_(sa.bindparam("patterns", expanding=True)),
)
_HAVING_RULES = sa.select(sender_rule.c.account_id).where(sender_rule.c.account_id.is_not(None)).distinct()
