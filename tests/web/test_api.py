"""The REST API (R9, R7) over HTTP: bearer tokens with the roles of the portal (401 without one, 403
outside a manager's agencies), filing and deciding requests as the HR system would; and schemathesis
generating calls from the OpenAPI schema finds no server error."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.imap.conftest import RunningServer
from tests.web.test_admin import portal  # noqa: F401  (the fixture)


def token(server: RunningServer, role: str, agency: str | None = None) -> str:
    tokens = server.services.directory.api_tokens
    _, secret = server.run(tokens.create(f"HR {role}", role, agency_code=agency, actor="test"))
    return secret


def client(site: str, secret: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.Client(base_url=f"{site}/api/v1", headers=headers, timeout=30)


def test_tokens_and_scopes(portal: RunningServer, site: str) -> None:  # noqa: F811
    anonymous = client(site, None).get("/accounts")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["code"] == "unauthorised"
    assert client(site, "hopthu_nonsense").get("/agencies").status_code == 401

    hr = client(site, token(portal, "agency_manager", "sonv"))
    seen = {a["address"] for a in hr.get("/accounts").json()}
    assert seen == {"nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn", "sonv@cantho.gov.vn"}
    assert [a["code"] for a in hr.get("/agencies").json()] == ["sonv"]
    refused = hr.get("/accounts/lvbinh@cantho.gov.vn")
    assert refused.status_code == 403 and refused.json()["vi"]
    assert (
        hr.post("/requests", json={"kind": "lock", "address": "lvbinh", "reason": "violation"}).status_code
        == 403
    )
    outside = hr.post(
        "/requests", json={"kind": "create", "person": {"family": "Võ", "given": "An", "agency": "soyt"}}
    )
    assert outside.status_code == 403 and "phạm vi" in outside.json()["vi"]  # like any other "not yours"
    missing_ref = hr.post(
        "/requests", json={"kind": "lock", "address": "nvminh", "reason": "security_warning"}
    )
    assert missing_ref.status_code == 422 and missing_ref.json()["code"] == "reference_required"

    filed = hr.post(
        "/requests",
        json={
            "kind": "create",
            "person": {"family": "Võ", "middle": "Thị", "given": "An", "agency": "sonv", "rank": 1},
        },
    )
    assert filed.status_code == 201, filed.text
    created = filed.json()
    assert created["status"] == "pending" and created["details"]["proposed"] == "vtan"
    assert filed.headers["location"] == f"/api/v1/requests/{created['id']}"
    assert hr.post(f"/requests/{created['id']}/approve", json={}).status_code == 403  # the operator decides

    operator = client(site, token(portal, "operator"))
    approved = operator.post(f"/requests/{created['id']}/approve", json={})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert (
        approved.json()["address"] == "vtan@cantho.gov.vn"
        and "sealed_password" not in approved.json()["details"]
    )
    assert hr.get("/accounts/vtan").json()["must_change_password"] is True
    again = operator.post(f"/requests/{created['id']}/approve", json={})
    assert again.status_code == 409
    rejected = operator.post(f"/requests/{created['id']}/reject", json={"reason": "x"})
    assert rejected.status_code == 409

    helpdesk_token = token(portal, "helpdesk")
    assert len(client(site, helpdesk_token).get("/accounts").json()) == 6
    (made,) = [t for t in portal.run(portal.services.directory.api_tokens.list()) if t.role == "helpdesk"]
    portal.run(portal.services.directory.api_tokens.revoke(made.id, actor="test"))
    assert client(site, helpdesk_token).get("/accounts").status_code == 401


def test_no_server_error_from_generated_calls(portal: RunningServer, site: str) -> None:  # noqa: F811
    """Calls generated from every operation of the schema (valid and not), with an operator's token
    (which reaches every operation) and without: none gets a 5xx answer."""
    schema = schemathesis.openapi.from_url(f"{site}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 21  # …, GET and POST /former-addresses (R13.7), PATCH /accounts/{address}
    for headers in ({"Authorization": f"Bearer {token(portal, 'operator')}"}, {}):
        for operation in operations:
            generated_calls(operation, headers)()


def generated_calls(operation, headers: dict[str, str]):
    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    return call


def test_numbers_no_table_holds_are_refused_not_failed(portal: RunningServer, site: str) -> None:  # noqa: F811
    """A page or API call naming a row id beyond 32 bits answers 422, never a database error."""
    too_big = 2**70
    assert client(site, token(portal, "operator")).get(f"/requests/{too_big}").status_code == 422
    with httpx.Client(base_url=site) as browser:
        assert browser.get(f"/thu/{too_big}/1").status_code in (303, 422)  # signed out: sign-in first


def test_a_nul_character_is_refused_not_failed(portal: RunningServer, site: str) -> None:  # noqa: F811
    """PostgreSQL text holds no NUL: queries, forms and JSON bodies carrying one answer 422."""
    api = client(site, token(portal, "operator"))
    assert api.get("/accounts", params={"q": "a\x00b"}).status_code == 422
    filed = api.post("/requests", json={"kind": "lock", "address": "nv\x00minh", "reason": "violation"})
    assert filed.status_code == 422 and filed.json()["code"] == "http"
    with httpx.Client(base_url=site) as browser:
        form = browser.post("/dang-nhap", data={"login": "nv\x00minh", "password": "x", "csrf": "y"})
        assert form.status_code == 422
        assert browser.get("/tim-kiem", params={"q": "\x00"}).status_code == 422


def test_a_job_title_filed_approved_and_patched(portal: RunningServer, site: str) -> None:  # noqa: F811
    """A create request carries the person's title to the new account; an operator's PATCH changes it
    (audited), a manager's is forbidden, and one too long is refused in both languages."""
    hr = client(site, token(portal, "agency_manager", "sonv"))
    person = {"family": "Võ", "middle": "Thị", "given": "An", "agency": "sonv", "job_title": "Chuyên viên"}
    filed = hr.post("/requests", json={"kind": "create", "person": person})
    assert filed.status_code == 201, filed.text
    assert filed.json()["details"]["job_title"] == "Chuyên viên"
    operator = client(site, token(portal, "operator"))
    assert operator.post(f"/requests/{filed.json()['id']}/approve", json={}).status_code == 200
    assert hr.get("/accounts/vtan").json()["job_title"] == "Chuyên viên"

    assert hr.patch("/accounts/vtan", json={"job_title": "Giám đốc"}).status_code == 403
    patched = operator.patch("/accounts/vtan", json={"job_title": " Phó  Trưởng phòng ", "reason": "QĐ 5"})
    assert patched.status_code == 200 and patched.json()["job_title"] == "Phó Trưởng phòng"
    too_long = operator.patch("/accounts/vtan", json={"job_title": "x" * 101})
    assert too_long.status_code == 422
    assert "quá 100 ký tự" in too_long.json()["vi"] and "more than the 100" in too_long.json()["en"]
    assert (
        operator.patch("/accounts/vtan", json={"reason": "nothing"}).json()["job_title"] == "Phó Trưởng phòng"
    )
    assert operator.patch("/accounts/vtan", json={"job_title": None}).json()["job_title"] is None
    events = portal.run(portal.services.directory.accounts.history("vtan"))
    assert [e.details["to"] for e in events if e.action == "account.title_changed"] == [
        None,
        "Phó Trưởng phòng",
    ]
    refused = hr.post(
        "/requests",
        json={"kind": "create", "person": {**person, "given": "Bình", "job_title": "y" * 150}},
    )
    assert refused.status_code == 422 and "100" in refused.json()["vi"] and "100" in refused.json()["en"]
