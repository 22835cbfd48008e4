"""Roles are not a ladder (R9, R10.4), against the real `hopthu serve`: the helpdesk resets the
passwords of ordinary mailboxes only, never an administrator's (so it cannot sign in as an operator
and enrol a device of its own), over the portal and the API; and enrolling an administrator's second
factor needs that administrator's own password."""

from __future__ import annotations

import asyncio
import re
from contextlib import closing

import httpx
import pyotp

from hopthu.cli.common import open_directory
from hopthu.config import load_settings
from tests.hostile.conftest import PASSWORD, Served

OPERATOR = "quantri"  # the first administrator `hopthu init` makes
HELPDESK_WORDS = "Bộ phận hỗ trợ chỉ cấp lại mật khẩu cho hộp thư thông thường"


def grant(served: Served, local: str, role: str) -> None:
    """A role given the way the operator's portal gives it (through the directory, audited)."""

    async def work() -> None:
        async with open_directory(load_settings(served.cli.data)) as directory:
            await directory.roles.grant(local, role, actor="test")

    asyncio.run(work())


def operator(served: Served) -> str:
    """The first administrator, with a password of its own (the console resets it: an operator's act)."""
    reset = served.cli("account", "reset-password", OPERATOR, "--json")
    assert reset.code == 0, reset.err
    changed = served.cli(
        "account", "change-password", OPERATOR, stdin=f"{reset.json()['temporary_password']}\n{PASSWORD}\n"
    )
    assert changed.code == 0, changed.err
    return OPERATOR


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def browser(served: Served, login: str) -> httpx.Client:
    client = httpx.Client(base_url=served.http, headers={"Origin": served.http}, timeout=60)
    signed = client.post(
        "/dang-nhap", data={"login": login, "password": PASSWORD, "csrf": csrf(client.get("/dang-nhap"))}
    )
    assert signed.status_code == 303 and "/dang-nhap" not in signed.headers["location"], signed.status_code
    return client


def enrol(client: httpx.Client, password: str | None) -> httpx.Response:
    """Scan the enrolment page's key and confirm it with a code (and the password, when given)."""
    page = client.get("/quan-tri/xac-thuc/dang-ky")
    assert page.status_code == 200, page.status_code
    secret = re.search(r'id="secret">([^<]+)<', page.text)
    assert secret
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
    form = {"code": code, "next": "/quan-tri", "csrf": csrf(page)}
    if password is not None:
        form["password"] = password
    return client.post("/quan-tri/xac-thuc", data=form)


def reset_in_portal(client: httpx.Client, local: str) -> httpx.Response:
    page = client.get(f"/quan-tri/hop-thu/{local}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/quan-tri/hop-thu/{local}/mat-khau", data={"note": "Phiếu 77", "csrf": csrf(page)})


def test_the_helpdesk_cannot_reset_an_administrators_password_in_the_portal(served: Served) -> None:
    boss = operator(served)
    desk = served.account(given="Hà", family="Lê", middle="Thu")
    colleague = served.account(given="Nam", family="Phạm", middle="Văn")
    person = served.account()
    grant(served, desk, "helpdesk")
    grant(served, colleague, "helpdesk")
    with closing(browser(served, desk)) as client:
        assert enrol(client, PASSWORD).status_code == 303
        for admin in (boss, colleague):
            page = client.get(f"/quan-tri/hop-thu/{admin}")
            assert f'action="/quan-tri/hop-thu/{admin}/mat-khau"' not in page.text  # the act is not offered
            refused = reset_in_portal(client, admin)
            assert refused.status_code == 403, refused.status_code
            assert HELPDESK_WORDS in refused.text and 'id="temporary-password"' not in refused.text
        done = reset_in_portal(client, person)  # an ordinary mailbox: the helpdesk's daily work
        assert done.status_code == 303 and done.headers["location"] == f"/quan-tri/hop-thu/{person}"
        shown = client.get(done.headers["location"])  # the password, once, on the account's page
        assert 'id="temporary-password"' in shown.text
        assert 'id="temporary-password"' not in client.get(done.headers["location"]).text
    with closing(browser(served, boss)):  # the operator's password is still the operator's own
        pass
    assert served.alive()


def test_the_helpdesk_cannot_reset_an_administrators_password_over_the_api(served: Served) -> None:
    boss = operator(served)
    colleague = served.account(given="Nam", family="Phạm", middle="Văn")
    person = served.account()
    grant(served, colleague, "helpdesk")
    made = served.cli("api-token", "create", "--name", "Tổng đài hỗ trợ", "--role", "helpdesk", "--json")
    assert made.code == 0, made.err
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    domain = "cantho.gov.vn"
    with httpx.Client(base_url=served.http + "/api/v1", headers=headers, timeout=60) as api:
        for admin in (boss, colleague):
            refused = api.post(f"/accounts/{admin}@{domain}/password-reset", json={"reason": "Phiếu 78"})
            assert refused.status_code == 403, refused.status_code
            body = refused.json()
            assert body["code"] == "forbidden" and HELPDESK_WORDS in body["vi"] and "helpdesk" in body["en"]
        done = api.post(f"/accounts/{person}@{domain}/password-reset", json={"reason": "Phiếu 79"})
        assert done.status_code == 200, done.text
        assert len(done.json()["temporary_password"]) >= 12
    with closing(browser(served, boss)):
        pass
    assert served.alive()


def test_enrolling_an_administrators_second_factor_needs_their_own_password(served: Served) -> None:
    """A session of an administrator who has not enrolled yet (a browser left open, or a password
    somebody else was told) cannot tie the portal to a stranger's phone without the password."""
    boss = operator(served)
    with closing(browser(served, boss)) as client:
        without = enrol(client, None)
        assert without.status_code == 401 and "mật khẩu không đúng" in without.text
        wrong = enrol(client, "Sai-Mat-khau-2026")
        assert wrong.status_code == 401
        assert client.get("/quan-tri", follow_redirects=False).status_code == 303  # still not in
        assert enrol(client, PASSWORD).status_code == 303
        assert client.get("/quan-tri", follow_redirects=False).status_code == 200
    assert served.alive()
