"""The city's address book in the webmail (`/danh-ba`), over HTTP as a browser sends it (httpx, the
session cookie kept): the agency tree, an agency's people leaders first with its shared mailboxes,
a search without diacritics, the "write to" link into compose, pages resumed after the last row, and
only active mailboxes listed (locked and revoked people are not)."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator

import httpx
import pytest

from hopthu.config import Settings
from hopthu.directory.people import PersonRow
from hopthu.policy.lifecycle import Action
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ROW = re.compile(r'<tr>\s*<th scope="row">(.*?)</th>.*?<td class="address">([^<]+)</td>', re.S)


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """Plain http, so the session cookie has no __Host- prefix httpx would keep from http."""
    return dataclasses.replace(
        server_settings, server=dataclasses.replace(server_settings.server, web_url="http://127.0.0.1")
    )


async def _more_people(server) -> None:
    directory = server.services.directory
    await directory.agencies.add("Văn phòng", parent="sonv", actor="test")
    await directory.agencies.add("Sở Tài chính", code="sotc", actor="test")
    rows = [
        PersonRow("Lê", "Hoàng", "Nam", "vanphong.sonv", rank=5),
        PersonRow("Phạm", "Thị", "Lan", "sonv"),
        PersonRow("Võ", "", "Khóa", "sonv"),
        PersonRow("Đặng", "Văn", "Thu", "sonv"),
        PersonRow("Nguyễn", "Văn", "Minh", "sotc"),
    ]
    await directory.people.register(rows, actor="test")
    accounts = directory.accounts
    await accounts.change_status("vkhoa", Action.LOCK, reason="violation", ref=None, actor="test")
    await accounts.change_status("dvthu", Action.REVOKE, reason="inactive", ref=None, actor="test")


@pytest.fixture
def person(imapserver: RunningServer) -> Iterator[httpx.Client]:
    imapserver.run(_more_people(imapserver.server))
    base = f"http://127.0.0.1:{imapserver.port('http')}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        token = CSRF.search(client.get("/dang-nhap").text).group(1)
        signed = client.post("/dang-nhap", data={"login": "nvminh", "password": PASSWORD, "csrf": token})
        assert signed.status_code == 303, signed.text
        yield client


def rows(page: str, heading: str = "people-heading") -> list[tuple[str, str]]:
    """(name, address) of each row of the table under the section `heading` labels."""
    section = page.split(f'aria-labelledby="{heading}"', 1)[1].split("</section>", 1)[0]
    return [
        (html.unescape(re.sub(r"<[^>]+>", "", name)).strip(), address)
        for name, address in ROW.findall(section)
    ]


def test_needs_a_signed_in_person(imapserver: RunningServer) -> None:
    answer = httpx.get(f"http://127.0.0.1:{imapserver.port('http')}/danh-ba", follow_redirects=False)
    assert answer.status_code == 303 and "/dang-nhap" in answer.headers["location"]


def test_agency_tree_and_its_people_leaders_first(person: httpx.Client) -> None:
    page = person.get("/danh-ba").text
    assert 'href="/danh-ba"' in page  # the nav entry
    tree = page.split('class="agency-tree"', 1)[1].split("</nav>", 1)[0]
    assert tree.index("Sở Nội vụ") < tree.index("Văn phòng") < tree.index("Sở Tài chính")  # sub-unit below
    agency = person.get("/danh-ba", params={"co-quan": "sonv"}).text
    assert rows(agency, "shared-heading") == [
        ("Sở Nội vụ Hộp thư cơ quan", "sonv@cantho.gov.vn"),
        ("Văn phòng Hộp thư cơ quan", "vanphong.sonv@cantho.gov.vn"),
    ]
    assert rows(agency) == [  # the sub-unit's leader first, then by name; locked and revoked not listed
        ("Lê Hoàng Nam", "lhnam@cantho.gov.vn"),
        ("Nguyễn Văn Minh", "nvminh@cantho.gov.vn"),
        ("Phạm Thị Lan", "ptlan@cantho.gov.vn"),
        ("Trần Thị Ngọc Ánh", "ttnanh@cantho.gov.vn"),
    ]
    assert "vkhoa" not in agency and "dvthu" not in agency
    assert "Cấp 5" in agency
    people = agency.split('aria-labelledby="people-heading"', 1)[1]
    write = re.search(r'href="(/soan-thu\?den=[^"]+)"[^>]*>Viết thư', people).group(1)
    compose = person.get(html.unescape(write)).text
    assert 'name="to" value="lhnam@cantho.gov.vn"' in compose


def test_search_without_diacritics(person: httpx.Client) -> None:
    found = person.get("/danh-ba", params={"q": "nguyen van minh"}).text
    assert rows(found) == [
        ("Nguyễn Văn Minh", "nvminh@cantho.gov.vn"),
        ("Nguyễn Văn Minh", "nvminh1@cantho.gov.vn"),
    ]
    within = person.get("/danh-ba", params={"q": "NGUYEN van", "co-quan": "sotc"}).text
    assert rows(within) == [("Nguyễn Văn Minh", "nvminh1@cantho.gov.vn")]
    by_address = person.get("/danh-ba", params={"q": "ttnanh"}).text
    assert rows(by_address) == [("Trần Thị Ngọc Ánh", "ttnanh@cantho.gov.vn")]
    agency = person.get("/danh-ba", params={"q": "tai chinh"}).text
    assert ("Sở Tài chính Hộp thư cơ quan", "sotc@cantho.gov.vn") in rows(agency)
    assert rows(person.get("/danh-ba", params={"q": "vo khoa"}).text) == []  # locked: not listed
    nobody = person.get("/danh-ba", params={"q": "khong co ai"}).text
    assert "Không tìm thấy ai." in nobody


def test_pages_resume_after_the_last_row(person: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from hopthu.directory import book

    monkeypatch.setattr(book, "PAGE_SIZE", 2)
    seen: list[tuple[str, str]] = []
    link: str | None = "/danh-ba?co-quan=sonv"
    while link:
        page = person.get(html.unescape(link)).text
        seen += rows(page)
        more = re.search(r'<a href="([^"]+)" rel="next">', page)
        link = more.group(1) if more else None
    assert [address for _, address in seen] == [
        "lhnam@cantho.gov.vn",
        "nvminh@cantho.gov.vn",
        "ptlan@cantho.gov.vn",
        "ttnanh@cantho.gov.vn",
    ]


def test_an_unknown_agency_is_said(person: httpx.Client) -> None:
    page = person.get("/danh-ba", params={"co-quan": "khongco"}).text
    assert "Không có cơ quan, đơn vị này trong danh bạ." in page


def test_a_person_finds_a_colleague_in_the_browser(imapserver: RunningServer, page) -> None:
    """The nav entry, a search typed without diacritics, and the link that starts a letter."""
    from playwright.sync_api import expect

    from tests.web.conftest import sign_in

    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Danh bạ").click()
    expect(page.get_by_role("heading", name="Danh bạ thành phố")).to_be_visible()
    page.get_by_label("Tìm người hoặc cơ quan").fill("tran thi ngoc")
    page.get_by_role("button", name="Tìm", exact=True).click()
    found = page.locator(".book-people tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Trần Thị Ngọc Ánh")
    found.get_by_role("link", name="Viết thư cho Trần Thị Ngọc Ánh").click()
    expect(page.get_by_label("Đến")).to_have_value("ttnanh@cantho.gov.vn")


def test_job_titles_from_a_list_and_an_operator_are_shown(
    imapserver: RunningServer, person: httpx.Client
) -> None:
    """A list's "Chức vụ" column is what the book shows in place of the rank; an operator's change is
    audited and shown at the next page."""
    from hopthu.directory.listfile import people_from_csv

    directory = imapserver.services.directory
    listing = "Họ,Tên đệm,Tên,Mã cơ quan,Cấp bậc,Chức vụ\nHồ,Thị,Mai,sotc,4,Phó Giám đốc <Sở>\n"
    (registered,) = imapserver.run(directory.people.register(people_from_csv(listing.encode()), actor="t"))
    assert registered.address == "htmai"
    page = person.get("/danh-ba", params={"co-quan": "sotc"}).text
    assert "Phó Giám đốc &lt;Sở&gt;" in page and "Cấp 4" not in page  # the title, escaped, not the rank
    assert "Chức vụ" in page
    imapserver.run(directory.accounts.set_job_title("htmai", "Giám đốc", actor="ttnanh"))
    page = person.get("/danh-ba", params={"q": "ho thi mai"}).text
    assert rows(page) == [("Hồ Thị Mai", "htmai@cantho.gov.vn")]
    assert "Giám đốc" in page and "Phó Giám đốc" not in page
    events = imapserver.run(directory.accounts.history("htmai"))
    assert [(e.actor, e.details) for e in events if e.action == "account.title_changed"] == [
        ("ttnanh", {"from": "Phó Giám đốc <Sở>", "to": "Giám đốc"})
    ]
    agency = person.get("/danh-ba", params={"co-quan": "sonv"}).text
    assert "Cấp 5" in agency  # no title: the rank is still said
