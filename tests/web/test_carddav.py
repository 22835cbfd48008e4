"""The city's address book over CardDAV (RFC 6352), read by a real client: `curl` sends the
PROPFIND and REPORT requests Thunderbird, iOS and DAVx⁵ send, the multistatus answers are parsed
and checked, and the vCards read with `vobject`. Discovery from `/.well-known/carddav` (RFC 6764),
the person's principal and home, the book's cards (active mailboxes only), its ctag moving when a
newly approved person appears, writes refused, a wrong password refused, and nobody reading another
person's home."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import vobject

from hopthu.carddav import snapshot
from hopthu.directory.people import PersonRow
from hopthu.policy.lifecycle import Action
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD

NS = {"d": "DAV:", "card": "urn:ietf:params:xml:ns:carddav", "cs": "http://calendarserver.org/ns/"}
PRINCIPAL = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"""
HOME = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:prop><card:addressbook-home-set/></d:prop></d:propfind>"""
BOOKS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
<d:prop><d:resourcetype/><d:displayname/><cs:getctag/><d:sync-token/></d:prop></d:propfind>"""
ETAGS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>"""
MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:prop><d:getetag/><card:address-data/></d:prop>{hrefs}</card:addressbook-multiget>"""


@pytest.fixture(autouse=True)
def no_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change is served at the next request (bulk registrations wait `SETTLE_SECONDS` otherwise)."""
    monkeypatch.setattr(snapshot, "SETTLE_SECONDS", 0.0)


@pytest.fixture
def base(imapserver: RunningServer) -> str:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    return f"http://127.0.0.1:{imapserver.port('http')}"


def curl(
    url: str,
    method: str = "PROPFIND",
    body: str | None = None,
    *,
    user: str = "nvminh",
    depth: str = "0",
    password: str = PASSWORD,
    follow: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """One request by curl: (status, headers, body)."""
    command = ["curl", "-sS", "-i", "-X", method, "-H", f"Depth: {depth}", url]
    if user:
        command += ["--user", f"{user}:{password}"]
    if follow:
        command += ["-L", "--post301"]
    if body is not None:
        command += ["-H", "Content-Type: application/xml; charset=utf-8", "--data-binary", "@-"]
    done = subprocess.run(command, input=(body or "").encode(), capture_output=True, timeout=60, check=True)
    raw = done.stdout
    while raw.startswith(b"HTTP/1.1 100") or (follow and raw.startswith(b"HTTP/1.1 301")):
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, content = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, content


def responses(content: bytes) -> dict[str, ET.Element]:
    """A multistatus answer (RFC 4918 §13) as {href: its propstat with status 200's prop}."""
    found = {}
    for response in ET.fromstring(content).findall("d:response", NS):
        href = response.findtext("d:href", namespaces=NS)
        for propstat in response.findall("d:propstat", NS):
            if "200" in (propstat.findtext("d:status", namespaces=NS) or ""):
                found[href] = propstat.find("d:prop", NS)
    return found


def book_state(base: str) -> tuple[str, dict[str, str]]:
    """The book's ctag and {card href: etag}, as a client checks before syncing."""
    status, _, content = curl(f"{base}/dav/nvminh/city/", body=BOOKS)
    assert status == 207
    ctag = responses(content)["/dav/nvminh/city/"].findtext("cs:getctag", namespaces=NS)
    status, _, content = curl(f"{base}/dav/nvminh/city/", body=ETAGS, depth="1")
    assert status == 207
    cards = {
        href: prop.findtext("d:getetag", namespaces=NS)
        for href, prop in responses(content).items()
        if href.endswith(".vcf")
    }
    return ctag, cards


def cards_of(base: str, hrefs: list[str]) -> dict[str, vobject.base.Component]:
    body = MULTIGET.format(hrefs="".join(f"<d:href>{href}</d:href>" for href in hrefs))
    status, _, content = curl(f"{base}/dav/nvminh/city/", "REPORT", body, depth="1")
    assert status == 207
    parsed = {}
    for href, prop in responses(content).items():
        parsed[href] = vobject.readOne(prop.findtext("card:address-data", namespaces=NS))
    return parsed


def by_email(cards: dict[str, vobject.base.Component]) -> dict[str, vobject.base.Component]:
    return {card.email.value: card for card in cards.values()}


def test_a_client_discovers_and_reads_the_book(imapserver: RunningServer, base: str) -> None:
    status, headers, _ = curl(f"{base}/.well-known/carddav", body=PRINCIPAL)
    assert status == 301 and headers["location"].endswith("/dav/")
    status, _, content = curl(f"{base}/.well-known/carddav", body=PRINCIPAL, follow=True)
    assert status == 207
    (prop,) = responses(content).values()
    assert prop.findtext("d:current-user-principal/d:href", namespaces=NS) == "/dav/nvminh/"
    status, _, content = curl(f"{base}/dav/nvminh/", body=HOME)
    home = responses(content)["/dav/nvminh/"]
    assert home.findtext("card:addressbook-home-set/d:href", namespaces=NS) == "/dav/nvminh/"
    status, _, content = curl(f"{base}/dav/nvminh/", body=BOOKS, depth="1")
    book = responses(content)["/dav/nvminh/city/"]
    assert book.find("d:resourcetype/card:addressbook", NS) is not None
    assert book.findtext("d:displayname", namespaces=NS) == "Danh bạ thành phố Cần Thơ"
    ctag, etags = book_state(base)
    assert ctag and len(etags) == 3  # nvminh, ttnanh and the agency mailbox sonv
    cards = by_email(cards_of(base, list(etags)))
    assert set(cards) == {"nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn", "sonv@cantho.gov.vn"}
    person = cards["ttnanh@cantho.gov.vn"]
    assert person.fn.value == "Trần Thị Ngọc Ánh"
    assert (person.n.value.family, person.n.value.given, person.n.value.additional) == (
        "Trần",
        "Ánh",
        "Thị Ngọc",
    )
    assert person.org.value == ["Sở Nội vụ"]
    assert person.uid.value.startswith("urn:uuid:") and person.rev.value
    agency = cards["sonv@cantho.gov.vn"]
    assert agency.fn.value == "Sở Nội vụ" and agency.org.value == ["Sở Nội vụ"]
    href = next(
        h for h, card in cards_of(base, list(etags)).items() if card.email.value == "nvminh@cantho.gov.vn"
    )
    status, headers, content = curl(f"{base}{href}", "GET")
    assert status == 200 and headers["etag"] == etags[href]
    assert vobject.readOne(content.decode()).fn.value == "Nguyễn Văn Minh"
    assert book_state(base) == (ctag, etags)  # nothing changed: the same tags


def test_a_newly_approved_person_appears_after_the_ctag_changes(imapserver: RunningServer, base: str) -> None:
    ctag, etags = book_state(base)
    directory = imapserver.services.directory
    imapserver.run(directory.people.register([PersonRow("Lê", "Hoàng", "Nam", "sonv", rank=3)], actor="test"))
    new_ctag, new_etags = book_state(base)
    assert new_ctag != ctag
    assert set(new_etags) - set(etags) and {h: new_etags[h] for h in etags} == etags  # the others unchanged
    (added,) = cards_of(base, list(set(new_etags) - set(etags))).values()
    assert added.fn.value == "Lê Hoàng Nam" and added.email.value == "lhnam@cantho.gov.vn"
    imapserver.run(
        directory.accounts.change_status("ttnanh", Action.LOCK, reason="violation", ref=None, actor="test")
    )
    locked_ctag, after_lock = book_state(base)
    assert locked_ctag != new_ctag
    assert "ttnanh@cantho.gov.vn" not in by_email(cards_of(base, list(after_lock)))  # locked: not listed


def test_writes_are_refused(imapserver: RunningServer, base: str) -> None:
    _, etags = book_state(base)
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Kẻ Lạ\r\nN:Lạ;Kẻ;;;\r\nEND:VCARD\r\n"
    status, _, content = curl(f"{base}/dav/nvminh/city/x.vcf", "PUT", card)
    assert status == 403 and "danh bạ thành phố chỉ đọc" in content.decode()
    href = next(iter(etags))
    assert curl(f"{base}{href}", "DELETE")[0] == 403
    assert curl(f"{base}/dav/nvminh/other/", "MKCOL")[0] == 403
    assert curl(f"{base}/dav/nvminh/city/", "PROPPATCH", "<x/>")[0] in (400, 403)
    assert book_state(base)[1] == etags


def test_wrong_password_and_other_homes_are_refused(imapserver: RunningServer, base: str) -> None:
    status, headers, content = curl(f"{base}/dav/nvminh/", body=PRINCIPAL, password="Sai-mat-khau-1")
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert "Sai địa chỉ hoặc mật khẩu" in content.decode()
    status, headers, content = curl(f"{base}/dav/nvminh/", body=PRINCIPAL, user="")
    assert status == 401 and "www-authenticate" in headers
    assert "Cần đăng nhập bằng địa chỉ thư và mật khẩu" in content.decode()
    assert curl(f"{base}/dav/ttnanh/city/", body=ETAGS, depth="1")[0] in (403, 404)
    status, _, content = curl(f"{base}/dav/", body=BOOKS, depth="1")
    assert status == 207 and set(responses(content)) == {"/dav/"}  # nobody else's home is listed
    status, _, content = curl(f"{base}/dav/nvminh/", body=PRINCIPAL, user="nvminh@cantho.gov.vn")
    assert status == 207  # the address as typed, as IMAP takes it


def test_an_app_password_opens_the_book_as_it_opens_imap(imapserver: RunningServer, base: str) -> None:
    """The phone that reads mail with its own app password reads the address book with it too; revoked,
    it opens neither."""
    directory = imapserver.services.directory
    minh = imapserver.run(directory.accounts.get("nvminh")).id
    made, letters = imapserver.run(directory.app_passwords.create(minh, "Điện thoại", actor="nvminh"))
    assert curl(f"{base}/dav/nvminh/", body=PRINCIPAL, password=letters)[0] == 207
    imapserver.run(directory.app_passwords.revoke(minh, made.id, actor="nvminh"))
    assert curl(f"{base}/dav/nvminh/", body=PRINCIPAL, password=letters)[0] == 401


def test_a_job_title_is_the_cards_title_and_its_change_moves_the_ctag(
    imapserver: RunningServer, base: str
) -> None:
    """A title from a list's "Chức vụ" column is the card's TITLE (escaped as every value is); an
    operator's change is audited, so the book's version, its ctag and the card's etag move."""
    from hopthu.directory.listfile import people_from_csv

    directory = imapserver.services.directory
    listing = 'family,middle,given,agency,title\nLê,Hoàng,Nam,sonv,"Phó Trưởng phòng, phụ trách; tạm"\n'
    imapserver.run(directory.people.register(people_from_csv(listing.encode()), actor="test"))
    ctag, etags = book_state(base)
    cards = by_email(cards_of(base, list(etags)))
    assert cards["lhnam@cantho.gov.vn"].title.value == "Phó Trưởng phòng, phụ trách; tạm"
    assert "title" not in cards["ttnanh@cantho.gov.vn"].contents  # no title known: no TITLE
    assert "title" not in cards["sonv@cantho.gov.vn"].contents
    href = next(
        h for h, card in cards_of(base, list(etags)).items() if card.email.value == "lhnam@cantho.gov.vn"
    )
    status, _, raw = curl(f"{base}{href}", "GET")
    assert status == 200 and "TITLE:Phó Trưởng phòng\\, phụ trách\\; tạm" in raw.decode()
    imapserver.run(directory.accounts.set_job_title("lhnam", "Trưởng phòng", actor="test"))
    new_ctag, new_etags = book_state(base)
    assert new_ctag != ctag and new_etags[href] != etags[href]
    assert {h: t for h, t in new_etags.items() if h != href} == {h: t for h, t in etags.items() if h != href}
    (card,) = cards_of(base, [href]).values()
    assert card.title.value == "Trưởng phòng"
