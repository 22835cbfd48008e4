"""Registering people: one at a time or as a list, with the addresses R4.3 gives (R6.1, R10.3).

A list is registered together: `policy.naming` sees every row at once, so people of the same date
sharing a base are ordered by rank (R4.3b). A row that is invalid, or that needs an administrator to
choose its address, changes nothing; the other rows are created, a chunk per transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import jobtitle
from hopthu.directory.agencies import Agency, find
from hopthu.directory.context import DirectoryContext
from hopthu.directory.creation import NewAccount, create_accounts, new_credentials
from hopthu.directory.namespace import taken_locals
from hopthu.errors import Conflict, HopThuError
from hopthu.policy import naming

CHUNK = 500


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One person to register, as an operator or an agency's list gives it."""

    family: str
    middle: str
    given: str
    agency: str
    rank: int = 0
    date: dt.date | None = None
    address: str | None = None  # an administrator's choice (R4.3b), else assigned
    job_title: str | None = None  # chức vụ, free text shown in the address book (`jobtitle`)
    line: int = 0  # where it came from, for messages
    problem: str | None = None  # what the list reader could not make sense of


@dataclass(slots=True)
class RowResult:
    row: PersonRow
    address: str | None = None
    temporary_password: str | None = None
    proposals: list[str] = field(default_factory=list)
    error: str | None = None  # Vietnamese / English, when the row changed nothing

    @property
    def needs_administrator(self) -> bool:
        return self.address is None and bool(self.proposals)

    def as_json(self) -> dict:
        return {
            "line": self.row.line,
            "name": " ".join(naming_parts(self.row)),
            "agency": self.row.agency,
            "job_title": " ".join((self.row.job_title or "").split()) or None,
            "address": self.address,
            "temporary_password": self.temporary_password,
            "proposals": self.proposals,
            "error": self.error,
        }


def naming_parts(row: PersonRow) -> list[str]:
    return [part for part in (row.family, row.middle, row.given) if part.strip()]


class PeopleService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def register(
        self,
        rows: Sequence[PersonRow],
        *,
        actor: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[RowResult]:
        """Register every row that can be; return one result per row, in order."""
        today = self.ctx.now().date()
        results, agencies = await self._plan(rows, today)
        ready = [r for r in results if r.address and r.error is None]
        done = len(results) - len(ready)
        if progress and done:
            progress(done)
        chunks = [ready[start : start + CHUNK] for start in range(0, len(ready), CHUNK)]
        # The next chunk's passwords are hashed (in a thread) while this chunk is written.
        hashing = asyncio.ensure_future(new_credentials(len(chunks[0]))) if chunks else None
        for number, chunk in enumerate(chunks):
            assert hashing is not None
            credentials = await hashing
            if number + 1 < len(chunks):
                hashing = asyncio.ensure_future(new_credentials(len(chunks[number + 1])))
            await self._create(chunk, agencies, today, actor, credentials)
            if progress:
                progress(len(chunk))
        return results

    async def plan(self, rows: Sequence[PersonRow]) -> list[RowResult]:
        """What `register` would do with these rows now, changing nothing: the preview of a list."""
        results, _ = await self._plan(rows, self.ctx.now().date())
        return results

    async def _plan(
        self, rows: Sequence[PersonRow], today: dt.date
    ) -> tuple[list[RowResult], dict[str, Agency]]:
        results = [RowResult(row) for row in rows]
        async with self.ctx.store.db.read() as conn:
            agencies = {a.code: a for a in await _agencies(conn, {r.agency for r in rows})}
            taken = await taken_locals(conn)
        namespace = naming.Namespace(taken)
        for result in results:
            result.error = _row_problem(result.row, agencies)
        chosen = [r for r in results if r.error is None and r.row.address]
        for result in chosen:
            try:
                namespace.claim(result.row.address.strip().lower())
                result.address = result.row.address.strip().lower()
            except HopThuError as error:
                result.error = str(error)
        pending = [r for r in results if r.error is None and r.address is None]
        requests = [
            naming.PersonRequest(
                family=r.row.family,
                middle=r.row.middle,
                given=r.row.given,
                rank=r.row.rank,
                date=r.row.date or today,
                key=index,
            )
            for index, r in enumerate(pending)
        ]
        for assignment in naming.assign_people(
            requests, namespace, automatic_limit=self.ctx.settings.policy.naming_automatic_limit
        ):
            result = pending[assignment.request.key]
            if assignment.address:
                result.address = assignment.address
            else:
                result.proposals = list(assignment.proposals)
        return results, agencies

    async def _create(
        self,
        chunk: list[RowResult],
        agencies: dict[str, Agency],
        today: dt.date,
        actor: str,
        credentials: list[tuple[str, str]],
    ) -> None:
        """One transaction for the chunk, its accounts inserted together; if an address was taken
        meanwhile, each row alone, so that only the row that lost its address fails."""
        new = [_new_account(r, agencies[r.row.agency], today) for r in chunk]
        try:
            async with self.ctx.store.db.write() as conn:
                created = await create_accounts(self.ctx, conn, new, actor=actor, credentials=credentials)
        except IntegrityError:
            if len(chunk) == 1:
                chunk[0].error = str(
                    Conflict(
                        f"Địa chỉ '{chunk[0].address}' vừa được cấp cho người khác; hãy thử lại",
                        f"The address '{chunk[0].address}' was just taken by someone else; try again",
                    )
                )
                chunk[0].address = None
                return
            for result in chunk:  # someone else took an address meanwhile: find which row, alone
                await self._create([result], agencies, today, actor, await new_credentials(1))
            return
        for result, (_, password) in zip(chunk, created, strict=True):
            result.temporary_password = password


def _new_account(result: RowResult, where: Agency, today: dt.date) -> NewAccount:
    row = result.row
    assert result.address is not None
    family, middle, given = (" ".join(part.split()) for part in (row.family, row.middle, row.given))
    title = jobtitle.clean(row.job_title)
    details: dict = {"agency": where.code, "rank": row.rank, "chosen": bool(row.address)}
    if title:
        details["job_title"] = title
    return NewAccount(
        local=result.address,
        kind="personal",
        family=family,
        middle=middle,
        given=given,
        display_name=naming.display_name(family, middle, given, where.name),
        agency_id=where.id,
        rank=row.rank,
        registered_on=row.date or today,
        details=details,
        job_title=title,
    )


async def _agencies(conn: AsyncConnection, codes: set[str]) -> list[Agency]:
    found = []
    for code in sorted(codes):
        try:
            found.append(await find(conn, code))
        except HopThuError:
            continue
    return found


def _row_problem(row: PersonRow, agencies: dict[str, Agency]) -> str | None:
    """Why a row cannot be registered as it is, or None."""
    if row.problem:
        return row.problem
    if row.agency not in agencies:
        return f"Không có cơ quan mã '{row.agency}' / No agency with code '{row.agency}'"
    if agencies[row.agency].status != "active":
        return f"Cơ quan '{row.agency}' không còn hoạt động / Agency '{row.agency}' is not active"
    try:
        naming.person_base(row.family, row.middle, row.given)
        jobtitle.clean(row.job_title)
    except HopThuError as error:
        return str(error)
    return None
