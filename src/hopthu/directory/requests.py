"""Requests from agencies (R7, R10.3, R12): filed on the portal, by mail to hotro@ or by an operator,
then approved or rejected by the operator with a reason. Each step is audited; carrying out an
approved request is the job of the service it concerns (people, accounts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.agencies import find
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError, NotFound
from hopthu.store.schema import agency, audit_event, request

KINDS = (
    "create",
    "change",
    "delete",
    "lock",
    "restore",
    "reset_password",
    "subunit",
    "delegation",
    "appoint",
    "feedback",
)
# pending → approving (an operator is carrying it out) → approved; pending → rejected. A failed act
# puts it back to pending with what was learnt (the naming proposals of the moment, say).
STATUSES = ("pending", "approving", "approved", "rejected")
_CHUNK = 500  # ids per statement: SQLite's limit on parameters
CHANNELS = ("portal", "mail", "cli", "api")
DECISIONS = ("approved", "rejected")


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    kind: str
    agency_code: str | None
    payload: dict[str, Any]
    channel: str
    status: str
    batch: str | None
    filed_by: str | None
    decided_by: str | None
    decision_reason: str | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    agency_id: int | None
    agency_name: str | None


_SELECT = sa.select(
    request.c.id,
    request.c.kind,
    agency.c.code,
    request.c.payload,
    request.c.channel,
    request.c.status,
    request.c.batch,
    request.c.filed_by,
    request.c.decided_by,
    request.c.decision_reason,
    request.c.created_at,
    request.c.decided_at,
    request.c.agency_id,
    agency.c.name,
).select_from(request.outerjoin(agency, agency.c.id == request.c.agency_id))


class RequestService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def file(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        agency_code: str | None,
        channel: str,
        filed_by: str,
        batch: str | None = None,
    ) -> Request:
        if kind not in KINDS:
            raise HopThuError(f"Loại yêu cầu không hợp lệ: {kind}", f"Unknown request kind: {kind}")
        if channel not in CHANNELS:
            raise HopThuError(f"Kênh không hợp lệ: {channel}", f"Unknown channel: {channel}")
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            agency_id = (await find(conn, agency_code)).id if agency_code else None
            request_id = (
                await conn.execute(
                    sa.insert(request)
                    .values(
                        kind=kind,
                        agency_id=agency_id,
                        payload=payload,
                        channel=channel,
                        batch=batch,
                        filed_by=filed_by,
                        created_at=now,
                    )
                    .returning(request.c.id)
                )
            ).scalar_one()
            await audit.record(
                conn,
                at=now,
                actor=filed_by,
                action="request.filed",
                target=f"request:{request_id}",
                details={"kind": kind, "agency": agency_code, "channel": channel},
            )
            return await self._get(conn, request_id)

    async def file_batch(
        self, items: list[tuple[str, str | None, dict[str, Any]]], *, channel: str, filed_by: str, batch: str
    ) -> int:
        """Many requests (kind, agency code, payload) filed together as one batch, in one transaction;
        how many were filed."""
        for kind, _, _ in items:
            if kind not in KINDS:
                raise HopThuError(f"Loại yêu cầu không hợp lệ: {kind}", f"Unknown request kind: {kind}")
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            codes = {code for _, code, _ in items if code}
            ids_by_code = {code: (await find(conn, code)).id for code in sorted(codes)}
            rows = [
                {
                    "kind": kind,
                    "agency_id": ids_by_code.get(code or ""),
                    "payload": payload,
                    "channel": channel,
                    "batch": batch,
                    "filed_by": filed_by,
                    "created_at": now,
                }
                for kind, code, payload in items
            ]
            if rows:
                await conn.execute(sa.insert(request), rows)
            await audit.record(
                conn,
                at=now,
                actor=filed_by,
                action="request.batch_filed",
                target=f"batch:{batch}",
                details={"count": len(rows)},
            )
        return len(rows)

    async def claim(self, request_id: int) -> Request:
        """Take a pending request to carry it out; a second operator meanwhile is refused."""
        claimed = await self.claim_many([request_id])
        if not claimed:
            raise _already(await self.get(request_id))
        return claimed[0]

    async def claim_many(self, request_ids: list[int]) -> list[Request]:
        """`claim` for many at once: the ones still pending, now the caller's to carry out."""
        claimed: list[Request] = []
        async with self.ctx.store.db.write() as conn:
            for start in range(0, len(request_ids), _CHUNK):
                ids = (
                    (
                        await conn.execute(
                            sa.update(request)
                            .where(
                                request.c.id.in_(request_ids[start : start + _CHUNK]),
                                request.c.status == "pending",
                            )
                            .values(status="approving")
                            .returning(request.c.id)
                        )
                    )
                    .scalars()
                    .all()
                )
                if ids:
                    rows = await conn.execute(_SELECT.where(request.c.id.in_(ids)).order_by(request.c.id))
                    claimed.extend(Request(*row) for row in rows)
        return claimed

    async def release(self, request_id: int, payload: dict[str, Any]) -> None:
        await self.release_many([(request_id, payload)])

    async def release_many(self, outcomes: list[tuple[int, dict[str, Any]]]) -> None:
        """Back to pending after acts that could not be done, with what was learnt (one statement
        sent for all of them)."""
        if not outcomes:
            return
        async with self.ctx.store.db.write() as conn:
            await conn.execute(
                sa.update(request)
                .where(request.c.id == sa.bindparam("b_id"), request.c.status == "approving")
                .values(status="pending", payload=sa.bindparam("b_payload", type_=request.c.payload.type)),
                [{"b_id": request_id, "b_payload": payload} for request_id, payload in outcomes],
            )

    async def finish(self, request_id: int, payload: dict[str, Any], *, actor: str) -> Request:
        """A claimed request, carried out: approved, with its outcome in the payload."""
        await self.finish_many([(request_id, payload)], actor=actor)
        return await self.get(request_id)

    async def finish_many(self, outcomes: list[tuple[int, dict[str, Any]]], *, actor: str) -> None:
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            if outcomes:
                await conn.execute(
                    sa.update(request)
                    .where(request.c.id == sa.bindparam("b_id"), request.c.status == "approving")
                    .values(
                        status="approved",
                        payload=sa.bindparam("b_payload", type_=request.c.payload.type),
                        decided_by=actor,
                        decided_at=now,
                    ),
                    [{"b_id": request_id, "b_payload": payload} for request_id, payload in outcomes],
                )
                await conn.execute(
                    sa.insert(audit_event),
                    [
                        {
                            "at": now,
                            "actor": actor,
                            "action": "request.approved",
                            "target": f"request:{request_id}",
                        }
                        for request_id, _ in outcomes
                    ],
                )

    async def reopen(self, request_id: int, payload: dict[str, Any]) -> None:
        """A closed ticket the person answered: back in the queue with the new message."""
        async with self.ctx.store.db.write() as conn:
            await conn.execute(
                sa.update(request)
                .where(request.c.id == request_id)
                .values(
                    status="pending", payload=payload, decided_by=None, decided_at=None, decision_reason=None
                )
            )

    async def update_payload(self, request_id: int, payload: dict[str, Any]) -> None:
        async with self.ctx.store.db.write() as conn:
            await conn.execute(sa.update(request).where(request.c.id == request_id).values(payload=payload))

    async def get(self, request_id: int) -> Request:
        async with self.ctx.store.db.read() as conn:
            return await self._get(conn, request_id)

    async def decide(self, request_id: int, decision: str, *, reason: str | None, actor: str) -> Request:
        """Approve or reject a pending request; a rejection must say why."""
        if decision not in DECISIONS:
            raise HopThuError(f"Quyết định không hợp lệ: {decision}", f"Unknown decision: {decision}")
        if decision == "rejected" and not (reason and reason.strip()):
            raise HopThuError("Từ chối yêu cầu phải nêu lý do", "A rejection must give a reason")
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            done = (
                await conn.execute(
                    sa.update(request)
                    .where(request.c.id == request_id, request.c.status == "pending")
                    .values(status=decision, decided_by=actor, decision_reason=reason, decided_at=now)
                    .returning(request.c.id)
                )
            ).scalar()
            if done is None:
                raise _already(await self._get(conn, request_id))
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action=f"request.{decision}",
                target=f"request:{request_id}",
                reason=reason,
            )
            return await self._get(conn, request_id)

    async def list(
        self,
        *,
        status: str | None = None,
        agency_code: str | None = None,
        kind: str | None = None,
        batch: str | None = None,
        within: Collection[int] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Request]:
        """Newest first; `within` keeps the requests of these agency ids (an agency manager's)."""
        query = _SELECT
        if status:
            query = query.where(request.c.status == status)
        if agency_code:
            query = query.where(agency.c.code == agency_code)
        if kind:
            query = query.where(request.c.kind == kind)
        if batch:
            query = query.where(request.c.batch == batch)
        if within is not None:
            query = query.where(request.c.agency_id.in_(sorted(within)))
        async with self.ctx.store.db.read() as conn:
            rows = await conn.execute(query.order_by(request.c.id.desc()).limit(limit).offset(offset))
            return [Request(*row) for row in rows]

    async def _get(self, conn: Any, request_id: int) -> Request:
        row = (await conn.execute(_SELECT.where(request.c.id == request_id))).first()
        if row is None:
            raise NotFound(f"Không có yêu cầu số {request_id}", f"No request number {request_id}")
        return Request(*row)


def _already(current: Request) -> HopThuError:
    return HopThuError(
        f"Yêu cầu {current.id} đã được xử lý ({current.status})",
        f"Request {current.id} was already decided ({current.status})",
        code="conflict",
    )
