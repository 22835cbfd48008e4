"""What the REST API reads and writes, as Pydantic models: they make its OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """Every refusal: a stable code and the reason in Vietnamese and English."""

    code: str
    vi: str
    en: str


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: Literal["agency", "subunit"]
    parent: str | None
    status: str
    staff_count: int | None
    address: str


class AccountOut(BaseModel):
    address: str
    kind: Literal["personal", "agency"]
    display_name: str
    agency: str
    rank: int
    job_title: str | None = Field(None, description="Chức vụ, as the address book shows it")
    status: Literal["active", "locked", "revoked", "deleted"]
    quota_bytes: int
    usage_bytes: int
    messages: int
    must_change_password: bool
    password_changed_at: dt.datetime
    last_access_at: dt.datetime | None
    created_at: dt.datetime


class RequestOut(BaseModel):
    id: int
    kind: str
    agency: str | None
    status: Literal["pending", "approving", "approved", "rejected"]
    batch: str | None
    filed_by: str | None
    decided_by: str | None
    decision_reason: str | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    address: str | None = Field(
        None, description="The mailbox concerned (for a create request, once approved)"
    )
    proposals: list[str] = Field(
        default_factory=list, description="Addresses the operator chooses from (R4.3b)"
    )
    details: dict[str, Any] = Field(default_factory=dict)


class PersonIn(BaseModel):
    family: str = Field(min_length=1, max_length=100)
    middle: str = Field("", max_length=200)
    given: str = Field(min_length=1, max_length=100)
    agency: str = Field(min_length=1, max_length=64, description="The agency's code")
    rank: int = Field(0, ge=0, le=99, description="Larger is more senior (R4.3b)")
    date: dt.date | None = Field(None, description="Day of registration; today when absent")
    job_title: str | None = Field(
        None, max_length=1000, description="Chức vụ for the address book; at most 100 characters once cleaned"
    )


class RequestIn(BaseModel):
    """A request to the operator: `person` for `create`; `address` (and the rest) for the acts on a
    mailbox; for `subunit` the parent `agency`, `name` and proposed `code`; for `delegation` the
    agency mailbox as `address` and the `delegate`; for `appoint` the person as `address` and the
    `agency` they will manage."""

    kind: Literal[
        "create", "change", "delete", "lock", "restore", "reset_password", "subunit", "delegation", "appoint"
    ]
    person: PersonIn | None = None
    address: str | None = Field(None, max_length=320)
    reason: str = Field("", max_length=64, description="One of the regulation's reasons (R6)")
    ref: str = Field("", max_length=200, description="The official document or request number")
    agency: str = Field(
        "",
        max_length=64,
        description="The new agency (`change`), the parent (`subunit`), the agency (`appoint`)",
    )
    family: str = Field("", max_length=100, description="The new family name, for `change`")
    middle: str = Field("", max_length=200, description="The new middle name(s), for `change`")
    given: str = Field("", max_length=100, description="The new given name, for `change`")
    name: str = Field("", max_length=200, description="The new sub-unit's name, for `subunit`")
    code: str = Field("", max_length=64, description="The address part the agency proposes, for `subunit`")
    delegate: str = Field("", max_length=320, description="The person given the mailbox, for `delegation`")
    can_send: bool = Field(False, description="Whether the delegate may send as the mailbox")
    note: str = Field("", max_length=500)


class ListRowOut(BaseModel):
    line: int
    address: str
    error: str | None


class ListOut(BaseModel):
    """A list as checked (preview) or filed: every row with its problem, if any."""

    kind: str
    rows: int
    ready: int
    problems: list[ListRowOut]
    batch: str | None = Field(None, description="The batch the good rows were filed as")


class BatchOut(BaseModel):
    batch: str
    approved: int
    refused: list[dict[str, Any]]


class DecisionIn(BaseModel):
    reason: str = Field("", max_length=500, description="Why (required to reject)")
    address: str | None = Field(
        None, max_length=64, description="The proposal taken, when R4.3b asks for a choice"
    )


class AccountPatch(BaseModel):
    """What an operator may change about an account directly; an absent field stays as it is."""

    job_title: str | None = Field(
        None, max_length=1000, description="Chức vụ; empty or null for none; at most 100 characters"
    )
    reason: str = Field("", max_length=500, description="Why, for the audit log (optional)")


class PasswordResetIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500, description="Why (e.g. the ticket number)")


class PasswordResetOut(BaseModel):
    """A temporary password, shown once; the person must change it at first use (R5.2)."""

    address: str
    temporary_password: str


class AccessEventOut(BaseModel):
    """One event of the access log (R13.4): a sign-in, refused or not, or a delegate's opening."""

    id: int
    at: dt.datetime
    address: str | None = Field(description="The mailbox the login named (none for an unknown login)")
    login: str
    protocol: Literal["imap", "pop3", "submission", "web", "api"]
    source: str
    client: str
    result: str = Field(description="success, a refusal (bad_credentials, throttled, ...) or delegate")
    agency_mailbox: str | None = Field(description="The agency mailbox a delegate opened")


class RoleOut(BaseModel):
    """A role held by a person (R9, R10.4, R13.4)."""

    address: str
    name: str
    role: Literal["operator", "helpdesk", "agency_manager", "auditor"]
    agency: str | None = Field(None, description="The agency's code, for `agency_manager`")


class RoleIn(BaseModel):
    address: str = Field(..., min_length=1, max_length=320)
    role: Literal["operator", "helpdesk", "agency_manager", "auditor"]
    agency: str | None = Field(None, max_length=64, description="The agency's code, for `agency_manager`")


class FormerAddressOut(BaseModel):
    """An old address of a former province and the mailbox it reaches now (R13.7)."""

    former_address: str
    address: str
    display_name: str
    agency: str
    source: Literal["import", "manual"]
    reason: str | None = None
    created_at: dt.datetime


class FormerAddressIn(BaseModel):
    former_address: str = Field(..., min_length=3, max_length=320, description="e.g. nvminh@soctrang.gov.vn")
    address: str = Field(..., min_length=1, max_length=320, description="The mailbox it reaches now")
    reason: str | None = Field(None, max_length=500)
