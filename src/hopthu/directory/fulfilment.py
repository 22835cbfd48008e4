"""Carrying out the requests agencies file (R7, R10.3, R12): the operator approves, the act is done by
the service it concerns, and the request records the outcome; or the operator rejects with a reason.

A request to create a mailbox is named again when it is approved, against the addresses taken by
then (R4.3): a row that now needs the operator's choice (R4.3b) goes back to the queue with the
proposals of the moment, in `policy.naming`'s order, and is approved again with one of them.

The temporary password of a new or reset mailbox is kept sealed (`SecretBox`) for the agency manager
who filed the request, who downloads it once; it is never mailed to the person (R5.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from hopthu.directory.accounts import Change
from hopthu.directory.agencies import CodeTaken
from hopthu.directory.people import CHUNK, PersonRow, RowResult
from hopthu.directory.requests import Request
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.policy import lifecycle

# What each kind of request does to an existing mailbox.
_LIFECYCLE = {
    "lock": lifecycle.Action.LOCK,
    "restore": lifecycle.Action.RESTORE,
    "delete": lifecycle.Action.DELETE,
}


class NamingChoice(HopThuError):
    """The request's person shares a name with too many others: the operator picks the address."""

    def __init__(self, proposals: list[str]) -> None:
        super().__init__(
            "Cần chọn địa chỉ cho người này (R4.3b): " + ", ".join(proposals),
            "An address must be chosen for this person (R4.3b): " + ", ".join(proposals),
            code="naming_choice",
        )
        self.proposals = proposals


class Fulfilment:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def approve(self, request_id: int, *, actor: str, address: str | None = None) -> Request:
        """Carry the request out and mark it approved; on a refusal it stays pending, unchanged but
        for what was learnt, and the refusal is raised."""
        requests = self.directory.requests
        claimed = await requests.claim(request_id)
        payload = dict(claimed.payload)
        try:
            outcome = await self._carry_out(claimed, payload, actor=actor, address=address)
        except NamingChoice as choice:
            await requests.release(request_id, {**payload, "proposed": None, "proposals": choice.proposals})
            raise
        except BaseException:
            await requests.release(request_id, payload)
            raise
        return await requests.finish(request_id, {**payload, **outcome}, actor=actor)

    async def _carry_out(
        self, filed: Request, payload: dict[str, Any], *, actor: str, address: str | None
    ) -> dict[str, Any]:
        accounts = self.directory.accounts
        ref = f"yêu cầu số {filed.id}" + (f", {payload['ref']}" if payload.get("ref") else "")
        if filed.kind == "create":
            return await self._create(payload, actor=actor, address=address)
        target = str(payload.get("address", ""))
        if filed.kind == "reset_password":
            password = await accounts.reset_password(target, actor=actor, reason=ref)
            return {"sealed_password": self.directory.factors.box.seal(password)}
        if filed.kind in _LIFECYCLE:
            reason = str(payload.get("reason") or "requested")
            await accounts.change_status(target, _LIFECYCLE[filed.kind], reason=reason, ref=ref, actor=actor)
            return {}
        if filed.kind == "change":
            reason = str(payload.get("reason") or "")
            await accounts.change(target, change_of(payload), reason=reason, ref=ref, actor=actor)
            return {}
        if filed.kind == "subunit":
            return await self._subunit(payload, actor=actor, address=address)
        if filed.kind == "delegation":
            await self.directory.delegations.grant(
                target, str(payload["person"]), can_send=bool(payload.get("can_send")), actor=actor, ref=ref
            )
            return {}
        if filed.kind == "appoint":
            agency_code = str(payload["agency"])
            await self.directory.roles.grant(target, "agency_manager", agency_code=agency_code, actor=actor)
            return {}
        raise HopThuError(
            f"Yêu cầu loại '{filed.kind}' không tự thực hiện được; hãy trả lời và đóng",
            f"A '{filed.kind}' request is not carried out by the system; answer it and close it",
        )

    async def _subunit(self, payload: dict[str, Any], *, actor: str, address: str | None) -> dict[str, Any]:
        """The sub-unit and its agency mailbox, at the address proposed when it was filed or the
        one the operator took among the proposals (R4.2); a taken one goes back with new ones."""
        if address is not None and address not in (payload.get("proposals") or []):
            raise HopThuError(
                f"'{address}' không nằm trong các địa chỉ được đề xuất",
                f"'{address}' is not one of the proposed addresses",
            )
        chosen = address or payload.get("proposed")
        try:
            made = await self.directory.agencies.add(
                str(payload["name"]), code=chosen, parent=str(payload["parent"]), kind="subunit", actor=actor
            )
        except CodeTaken as taken:
            raise NamingChoice(taken.proposals) from None
        return {"address": made.code, "proposed": made.code}

    async def _create(self, payload: dict[str, Any], *, actor: str, address: str | None) -> dict[str, Any]:
        """The address named in the preview (with the whole list, so ranks ordered namesakes), or the
        operator's choice among the proposals; named again alone if it was taken meanwhile."""
        if address is not None and address not in (payload.get("proposals") or []):
            raise HopThuError(
                f"'{address}' không nằm trong các địa chỉ được đề xuất",
                f"'{address}' is not one of the proposed addresses",
            )
        chosen = address or payload.get("proposed")
        (result,) = await self.directory.people.register([person_row(payload, address=chosen)], actor=actor)
        if result.error and chosen and address is None:
            (result,) = await self.directory.people.register([person_row(payload)], actor=actor)
        return self._created(result)

    def _created(self, result: RowResult) -> dict[str, Any]:
        if result.error:
            raise HopThuError(result.error, result.error)
        if result.needs_administrator:
            raise NamingChoice(result.proposals)
        assert result.address is not None and result.temporary_password is not None
        return {
            "address": result.address,
            "proposed": result.address,
            "sealed_password": self.directory.factors.box.seal(result.temporary_password),
        }

    async def approve_batch(self, batch: str, *, actor: str, within: Collection[int] | None) -> BatchOutcome:
        """Approve every pending request of a batch: the people to create are registered together
        (namesakes ordered by rank, R4.3b), each taking the first proposal where a choice was due;
        the requests are claimed and closed in shared transactions."""
        requests = self.directory.requests
        pending = await requests.list(status="pending", batch=batch, within=within, limit=1_000_000)
        outcome = BatchOutcome()
        changes = sorted(r.id for r in pending if r.kind == "change")
        for start in range(0, len(changes), CHUNK):
            await self._changes(changes[start : start + CHUNK], actor=actor, outcome=outcome)
        for filed in sorted((r for r in pending if r.kind not in ("create", "change")), key=lambda r: r.id):
            try:
                await self.approve(filed.id, actor=actor)
                outcome.approved += 1
            except HopThuError as error:
                outcome.refused.append((filed.id, str(error)))
        creations = await requests.claim_many(sorted(r.id for r in pending if r.kind == "create"))
        rows = [
            person_row(
                c.payload, address=c.payload.get("proposed") or (c.payload.get("proposals") or [None])[0]
            )
            for c in creations
        ]
        try:
            results = await self.directory.people.register(rows, actor=actor) if rows else []
        except BaseException:
            await requests.release_many([(c.id, dict(c.payload)) for c in creations])
            raise
        done: list[tuple[int, dict[str, Any]]] = []
        undone: list[tuple[int, dict[str, Any]]] = []
        for claimed, result in zip(creations, results, strict=True):
            try:
                done.append((claimed.id, {**claimed.payload, **self._created(result)}))
            except HopThuError as error:
                undone.append((claimed.id, dict(claimed.payload)))
                outcome.refused.append((claimed.id, str(error)))
        await requests.finish_many(done, actor=actor)
        await requests.release_many(undone)
        outcome.approved += len(done)
        return outcome

    async def _changes(self, request_ids: list[int], *, actor: str, outcome: BatchOutcome) -> None:
        """A chunk of change requests of a batch, carried out together: claimed in one statement,
        the accounts changed in one transaction, the requests closed in one more."""
        requests = self.directory.requests
        claimed = await requests.claim_many(request_ids)
        try:
            refusals = await self.directory.accounts.change_many(
                [
                    (
                        str(c.payload.get("address", "")),
                        change_of(c.payload),
                        str(c.payload.get("reason") or ""),
                        f"yêu cầu số {c.id}" + (f", {c.payload['ref']}" if c.payload.get("ref") else ""),
                    )
                    for c in claimed
                ],
                actor=actor,
            )
        except BaseException:
            await requests.release_many([(c.id, dict(c.payload)) for c in claimed])
            raise
        done = [
            (c.id, dict(c.payload)) for c, refusal in zip(claimed, refusals, strict=True) if refusal is None
        ]
        undone = [(c.id, dict(c.payload)) for c, refusal in zip(claimed, refusals, strict=True) if refusal]
        outcome.refused.extend(
            (c.id, str(refusal)) for c, refusal in zip(claimed, refusals, strict=True) if refusal
        )
        await requests.finish_many(done, actor=actor)
        await requests.release_many(undone)
        outcome.approved += len(done)


@dataclass
class BatchOutcome:
    approved: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def change_of(payload: dict[str, Any]) -> Change:
    """What a change request's payload asks (`filing.check_act` wrote it): the new agency, the new
    name when it gives one."""
    renames = "given" in payload
    return Change(
        agency=payload.get("agency") or None,
        rank=payload.get("rank"),
        family=str(payload.get("family", "")) if renames else None,
        middle=str(payload.get("middle", "")) if renames else None,
        given=str(payload.get("given", "")) if renames else None,
    )


def person_row(payload: dict[str, Any], *, address: str | None = None) -> PersonRow:
    """The person a create request's payload describes (`person_payload` wrote it)."""
    date = payload.get("date")
    return PersonRow(
        family=str(payload.get("family", "")),
        middle=str(payload.get("middle", "")),
        given=str(payload.get("given", "")),
        agency=str(payload.get("agency", "")),
        rank=int(payload.get("rank") or 0),
        date=dt.date.fromisoformat(date) if date else None,
        address=address,
        job_title=str(payload["job_title"]) if payload.get("job_title") else None,
        line=int(payload.get("line") or 0),
    )


def person_payload(row: PersonRow, *, proposed: str | None, proposals: list[str]) -> dict[str, Any]:
    return {
        "family": row.family,
        "middle": row.middle,
        "given": row.given,
        "agency": row.agency,
        "rank": row.rank,
        "date": row.date.isoformat() if row.date else None,
        "job_title": row.job_title,
        "line": row.line,
        "proposed": proposed,
        "proposals": proposals,
    }
