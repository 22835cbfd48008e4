"""What a person sets for themselves: the signature added to what they write (its text, and its HTML
when it was written with formatting), and the out-of-office reply (its text, and the last day it
answers)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory.context import DirectoryContext
from hopthu.directory.keptsets import KeptAccounts
from hopthu.errors import HopThuError
from hopthu.store import dialect
from hopthu.store.events import settings_changed
from hopthu.store.schema import account_preference

MAX_SIGNATURE = 2000
MAX_SIGNATURE_HTML = 10_000  # the same words with their markup
MAX_VACATION_TEXT = 5000
AWAY_CHUNK = 500  # accounts asked about in one query (a bound on its parameters)


@dataclass(frozen=True, slots=True)
class Preferences:
    signature: str = ""
    vacation_on: bool = False
    vacation_subject: str = ""
    vacation_text: str = ""
    vacation_until: dt.date | None = None
    signature_html: str = ""

    def replies_on(self, day: dt.date) -> bool:
        """Whether the out-of-office reply answers mail arriving on `day`."""
        return self.vacation_on and (self.vacation_until is None or day <= self.vacation_until)


class PreferenceService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx
        self._away = KeptAccounts(ctx.store.events, self._switched_on)

    async def get(self, account_id: int) -> Preferences:
        rows = await self.ctx.store.db.all(
            sa.select(*_COLUMNS).where(account_preference.c.account_id == account_id)
        )
        return Preferences(*rows[0]) if rows else Preferences()

    async def away(self, account_ids: list[int]) -> dict[int, Preferences]:
        """The preferences of those among `account_ids` whose out-of-office reply is switched on, in
        one query per few hundred accounts (a circular to the whole city asks once, not per person)."""
        found: dict[int, Preferences] = {}
        # Nearly always nobody among them is away: only those whose reply is on are asked about.
        wanted = sorted(await self._away.among(set(account_ids)))
        for start in range(0, len(wanted), AWAY_CHUNK):
            # Asked after nearly every delivery: straight on the driver, values converted there.
            rows = await self.ctx.store.db.tuples(_AWAY, {"ids": wanted[start : start + AWAY_CHUNK]})
            found.update((int(row[0]), Preferences(*row[1:])) for row in rows)
        return found

    async def save(self, account_id: int, preferences: Preferences) -> None:
        if len(preferences.signature) > MAX_SIGNATURE:
            raise HopThuError(
                f"Chữ ký dài quá {MAX_SIGNATURE} ký tự",
                f"The signature is longer than {MAX_SIGNATURE} characters",
            )
        if len(preferences.signature_html) > MAX_SIGNATURE_HTML:
            raise HopThuError(
                "Chữ ký có định dạng quá dài",
                f"The formatted signature is longer than {MAX_SIGNATURE_HTML} characters",
            )
        if len(preferences.vacation_text) > MAX_VACATION_TEXT:
            raise HopThuError(
                f"Nội dung trả lời tự động dài quá {MAX_VACATION_TEXT} ký tự",
                f"The out-of-office text is longer than {MAX_VACATION_TEXT} characters",
            )
        if preferences.vacation_on and not preferences.vacation_text.strip():
            raise HopThuError("Cần nội dung cho thư trả lời tự động", "The out-of-office reply needs a text")
        values = {
            "signature": preferences.signature,
            "signature_html": preferences.signature_html,
            "vacation_on": preferences.vacation_on,
            "vacation_subject": preferences.vacation_subject[:300],
            "vacation_text": preferences.vacation_text,
            "vacation_until": preferences.vacation_until,
            "updated_at": self.ctx.now(),
        }
        statement = dialect.insert(self.ctx.store.db.backend, account_preference).values(
            account_id=account_id, **values
        )
        async with self.ctx.store.db.write() as conn:
            await conn.execute(
                statement.on_conflict_do_update(index_elements=[account_preference.c.account_id], set_=values)
            )
        self.ctx.store.events.publish(settings_changed(account_id))

    async def _switched_on(self) -> set[int]:
        return {int(row[0]) for row in await self.ctx.store.db.all(_SWITCHED_ON, large=True)}


_COLUMNS = (
    account_preference.c.signature,
    account_preference.c.vacation_on,
    account_preference.c.vacation_subject,
    account_preference.c.vacation_text,
    account_preference.c.vacation_until,
    account_preference.c.signature_html,
)


# Asked for every message delivered: one statement object, so its compiled form is kept.
_AWAY = sa.select(account_preference.c.account_id, *_COLUMNS).where(
    account_preference.c.account_id.in_(sa.bindparam("ids", expanding=True)),
    account_preference.c.vacation_on.is_(True),
)
_SWITCHED_ON = sa.select(account_preference.c.account_id).where(account_preference.c.vacation_on.is_(True))
