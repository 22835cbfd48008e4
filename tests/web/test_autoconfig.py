"""Mail programs setting themselves up, each fetching what it fetches from a served process (httpx,
with the Host header of `autoconfig.`, `autodiscover.`, `mta-sts.` names): the servers, ports and
sign-in name named are then used by imaplib, poplib and smtplib to sign in, over TLS verified
against the server's certificate for the host name named (the name is the one DNS answer stood in
for: it leads to 127.0.0.1). Autodiscover's XML from strangers is refused cleanly when hostile."""

from __future__ import annotations

import dataclasses
import imaplib
import plistlib
import poplib
import re
import smtplib
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hopthu.config import Settings
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD

MX = "mail.cantho.gov.vn"
AD_RESPONSE = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
AD_OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """These answers come from the settings and the listeners, not the database: SQLite suffices."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hopthu.db'}"


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """A development address (plain http), whose cookies httpx sends back."""
    return dataclasses.replace(
        server_settings, server=dataclasses.replace(server_settings.server, web_url="http://127.0.0.1")
    )


@pytest.fixture
def web(imapserver: RunningServer) -> Iterator[httpx.Client]:
    base = f"http://127.0.0.1:{imapserver.port('http')}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture
def mx_resolves_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's name leads to 127.0.0.1, as DNS would lead to the server."""
    connect = socket.create_connection

    def create_connection(address, *args, **kwargs):
        host, port = address
        return connect(("127.0.0.1" if host == MX else host, port), *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)


def trusting(imapserver: RunningServer) -> ssl.SSLContext:
    """TLS that checks the certificate and that it is for the host name connected to."""
    settings = imapserver.server.settings
    return ssl.create_default_context(cafile=str(settings.path(settings.server.tls_cert)))


def sign_in_with(
    imapserver: RunningServer, protocol: str, host: str, port: int, tls: bool, login: str
) -> None:
    """Sign in as a mail program told (protocol, host, port, TLS or STARTTLS, login) would."""
    context = trusting(imapserver)
    if protocol == "imap":
        imap = (
            imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=30)
            if tls
            else imaplib.IMAP4(host, port, timeout=30)
        )
        if not tls:
            imap.starttls(ssl_context=context)
        assert imap.login(login, PASSWORD)[0] == "OK"
        imap.logout()
    elif protocol == "pop3":
        pop = (
            poplib.POP3_SSL(host, port, context=context, timeout=30)
            if tls
            else poplib.POP3(host, port, timeout=30)
        )
        if not tls:
            pop.stls(context=context)
        pop.user(login)
        assert pop.pass_(PASSWORD).startswith(b"+OK")
        pop.quit()
    else:
        smtp = (
            smtplib.SMTP_SSL(host, port, context=context, timeout=30)
            if tls
            else smtplib.SMTP(host, port, timeout=30)
        )
        if not tls:
            smtp.starttls(context=context)
        assert smtp.login(login, PASSWORD)[0] == 235
        smtp.quit()


def thunderbird_servers(xml: bytes) -> list[dict[str, str]]:
    root = ET.fromstring(xml)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    return [
        {"kind": server.tag, "type": server.get("type"), **{child.tag: child.text or "" for child in server}}
        for server in provider
        if server.tag in ("incomingServer", "outgoingServer")
    ]


def test_thunderbird_is_told_the_servers_that_listen(
    imapserver: RunningServer, web: httpx.Client, mx_resolves_here: None
) -> None:
    answer = web.get(
        "/.well-known/autoconfig/mail/config-v1.1.xml", params={"emailaddress": "NVMinh@cantho.gov.vn"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    provider = ET.fromstring(answer.content).find("emailProvider")
    assert [d.text for d in provider.findall("domain")] == [
        "cantho.gov.vn",
        "soctrang.gov.vn",
        "haugiang.gov.vn",
    ]
    servers = thunderbird_servers(answer.content)
    named = [(s["kind"], s["type"], s["hostname"], int(s["port"]), s["socketType"]) for s in servers]
    port = imapserver.port
    assert named == [  # IMAP first (Thunderbird takes the first it reaches), TLS from the first byte first
        ("incomingServer", "imap", MX, port("imaps"), "SSL"),
        ("incomingServer", "imap", MX, port("imap"), "STARTTLS"),
        ("incomingServer", "pop3", MX, port("pop3s"), "SSL"),
        ("incomingServer", "pop3", MX, port("pop3"), "STARTTLS"),
        ("outgoingServer", "smtp", MX, port("submissions"), "SSL"),
        ("outgoingServer", "smtp", MX, port("submission"), "STARTTLS"),
    ]
    assert {s["username"] for s in servers} == {"nvminh@cantho.gov.vn"}
    assert {s["authentication"] for s in servers} == {"password-cleartext"}
    book = ET.fromstring(answer.content).find("addressBook")  # the city's address book, CardDAV
    assert book.get("type") == "carddav" and book.findtext("username") == "nvminh@cantho.gov.vn"
    assert book.findtext("authentication") == "http-basic" and book.findtext("serverURL").endswith("/dav/")
    for server in servers:
        sign_in_with(
            imapserver,
            server["type"],
            server["hostname"],
            int(server["port"]),
            server["socketType"] == "SSL",
            server["username"],
        )


def test_thunderbird_on_the_autoconfig_host_of_a_former_province(
    imapserver: RunningServer, web: httpx.Client
) -> None:
    """R13.7: an address at soctrang.gov.vn signs in as typed (the old address leads to its new
    mailbox for the transition the operator sets)."""
    answer = web.get(
        "/mail/config-v1.1.xml",
        params={"emailaddress": "nvminh@soctrang.gov.vn"},
        headers={"Host": "autoconfig.soctrang.gov.vn"},
    )
    assert answer.status_code == 200, answer.text
    assert {s["username"] for s in thunderbird_servers(answer.content)} == {"nvminh@soctrang.gov.vn"}
    # without an address, Thunderbird's placeholder for the whole address
    bare = web.get("/mail/config-v1.1.xml", headers={"Host": "autoconfig.cantho.gov.vn"})
    assert {s["username"] for s in thunderbird_servers(bare.content)} == {"%EMAILADDRESS%"}


@pytest.mark.parametrize(
    ("params", "host", "status"),
    [
        ({"emailaddress": "ban@example.org"}, None, 404),
        ({}, "autoconfig.example.org", 404),
        ({"emailaddress": "nvminh@cantho.gov.vn"}, "autoconfig.example.org", 404),
        ({"emailaddress": "khong-co-a-cong"}, None, 400),
        ({"emailaddress": "a" * 300 + "@cantho.gov.vn"}, None, 400),
        ({"emailaddress": "<script>@cantho.gov.vn"}, None, 400),
    ],
)
def test_autoconfig_refuses_what_is_not_ours_in_both_languages(
    web: httpx.Client, params: dict[str, str], host: str | None, status: int
) -> None:
    headers = {"Host": host} if host else {}
    answer = web.get("/mail/config-v1.1.xml", params=params, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/plain")
    vi, en = answer.text.splitlines()
    assert (
        ("tên miền" in vi and "domain" in en) if status == 404 else ("không hợp lệ" in vi and "valid" in en)
    )
    assert len(answer.text) < 1000


def autodiscover_request(address: str, schema: str = AD_OUTLOOK.strip("{}")) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
        f"<Request><EMailAddress>{address}</EMailAddress>"
        f"<AcceptableResponseSchema>{schema}</AcceptableResponseSchema></Request></Autodiscover>"
    ).encode()


@pytest.mark.parametrize("path", ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"])
def test_outlook_autodiscover_names_imap_and_smtp(
    imapserver: RunningServer, web: httpx.Client, mx_resolves_here: None, path: str
) -> None:
    answer = web.post(
        path,
        content=autodiscover_request("ttnanh@cantho.gov.vn"),
        headers={"Host": "autodiscover.cantho.gov.vn", "Content-Type": "text/xml"},
    )
    assert answer.status_code == 200, answer.text
    root = ET.fromstring(answer.content)
    assert root.tag == f"{AD_RESPONSE}Autodiscover"
    account = root.find(f"{AD_OUTLOOK}Response/{AD_OUTLOOK}Account")
    assert account.findtext(f"{AD_OUTLOOK}AccountType") == "email"
    assert account.findtext(f"{AD_OUTLOOK}Action") == "settings"
    protocols = {
        p.findtext(f"{AD_OUTLOOK}Type"): {child.tag.removeprefix(AD_OUTLOOK): child.text for child in p}
        for p in account.findall(f"{AD_OUTLOOK}Protocol")
    }
    assert set(protocols) == {"IMAP", "SMTP"}
    for kind, role, protocol in (("IMAP", "imaps", "imap"), ("SMTP", "submissions", "smtp")):
        told = protocols[kind]
        assert (told["Server"], int(told["Port"]), told["Encryption"]) == (MX, imapserver.port(role), "SSL")
        assert told["LoginName"] == "ttnanh@cantho.gov.vn" and told["AuthRequired"] == "on"
        sign_in_with(imapserver, protocol, told["Server"], int(told["Port"]), True, told["LoginName"])


def refused(answer: httpx.Response, status: int) -> str:
    """A POX error answer: its status, and its message in both languages."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    error = root.find(f"{AD_RESPONSE}Response/{AD_RESPONSE}Error")
    assert error.findtext(f"{AD_RESPONSE}ErrorCode") == "600"
    message = error.findtext(f"{AD_RESPONSE}Message")
    assert " / " in message
    return message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<Autodiscover><Request><EMailAddress>&lol9;@cantho.gov.vn</EMailAddress></Request></Autodiscover>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Autodiscover><Request><EMailAddress>&secret;@cantho.gov.vn</EMailAddress></Request></Autodiscover>"""


def test_autodiscover_refuses_hostile_requests_cleanly(imapserver: RunningServer, web: httpx.Client) -> None:
    path = "/autodiscover/autodiscover.xml"
    started = time.monotonic()
    assert "DTD" in refused(web.post(path, content=BILLION_LAUGHS), 400)
    assert "DTD" in refused(web.post(path, content=EXTERNAL_ENTITY), 400)
    assert time.monotonic() - started < 10  # nothing was expanded
    # too large, declared or streamed without a length (chunked)
    huge = autodiscover_request("nvminh@cantho.gov.vn").replace(b"<Request>", b"<Request>" + b" " * 2_000_000)
    assert "16384" in refused(web.post(path, content=huge), 413)
    assert "16384" in refused(web.post(path, content=iter([b"<Autodiscover>"] + [b" " * 65536] * 64)), 413)
    # another domain, no address, not XML, a schema we do not answer (Exchange ActiveSync)
    assert "example.org" in refused(web.post(path, content=autodiscover_request("ban@example.org")), 404)
    assert "EMailAddress" in refused(web.post(path, content=b"<Autodiscover><Request/></Autodiscover>"), 400)
    assert "well-formed XML" in refused(web.post(path, content=b"\x00\xff not xml"), 400)
    mobile = autodiscover_request(
        "nvminh@cantho.gov.vn",
        "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006",
    )
    assert "ActiveSync" in refused(web.post(path, content=mobile), 400)
    # and the server still answers
    fine = web.post(path, content=autodiscover_request("nvminh@cantho.gov.vn"))
    assert fine.status_code == 200, fine.text


def test_mta_sts_policy_on_the_mta_sts_host(imapserver: RunningServer, web: httpx.Client) -> None:
    """RFC 8461 §3.2, fetched from `mta-sts.<domain>` as a sending server does."""
    for domain in ("cantho.gov.vn", "soctrang.gov.vn"):
        answer = web.get("/.well-known/mta-sts.txt", headers={"Host": f"mta-sts.{domain}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        lines = answer.content.split(b"\r\n")
        assert lines[-1] == b""
        fields = dict(line.decode().split(": ", 1) for line in lines[:-1])
        assert fields == {"version": "STSv1", "mode": "testing", "mx": MX, "max_age": "604800"}
    other = web.get("/.well-known/mta-sts.txt", headers={"Host": "mta-sts.example.org"})
    assert other.status_code == 404 and "example.org" in other.text


def signed_in(web: httpx.Client, login: str = "nvminh") -> httpx.Client:
    token = CSRF.search(web.get("/dang-nhap").text).group(1)
    done = web.post("/dang-nhap", data={"login": login, "password": PASSWORD, "csrf": token})
    assert done.status_code == 303, done.text
    return web


def test_apple_profile_from_the_settings_page(
    imapserver: RunningServer, web: httpx.Client, mx_resolves_here: None
) -> None:
    anonymous = web.get("/cai-dat/ho-so-apple.mobileconfig")
    assert anonymous.status_code == 303 and "/dang-nhap" in anonymous.headers["location"]
    signed_in(web)
    settings_page = web.get("/cai-dat").text
    link = re.search(r'href="([^"]+\.mobileconfig)"', settings_page).group(1)
    answer = web.get(link)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-apple-aspen-config"
    assert 'filename="hopthu-nvminh.mobileconfig"' in answer.headers["content-disposition"]
    profile = plistlib.loads(answer.content)
    assert profile["PayloadType"] == "Configuration"
    mail, contacts = profile["PayloadContent"]
    assert contacts["PayloadType"] == "com.apple.carddav.account"
    assert (
        contacts["CardDAVPrincipalURL"] == "/dav/nvminh/"
        and contacts["CardDAVUsername"] == mail["IncomingMailServerUsername"]
    )
    assert not [key for key in contacts if "Password" in key]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == "nvminh@cantho.gov.vn"
    assert mail["EmailAccountName"] == "Nguyễn Văn Minh (Sở Nội vụ)"  # R4.4: the display name
    assert not [key for key in mail if "Password" in key and key != "OutgoingPasswordSameAsIncomingPassword"]
    assert PASSWORD.encode() not in answer.content
    incoming = (mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"])
    outgoing = (mail["OutgoingMailServerHostName"], mail["OutgoingMailServerPortNumber"])
    assert incoming == (MX, imapserver.port("imaps")) and outgoing == (MX, imapserver.port("submissions"))
    sign_in_with(imapserver, "imap", *incoming, True, mail["IncomingMailServerUsername"])
    sign_in_with(imapserver, "smtp", *outgoing, True, mail["OutgoingMailServerUsername"])
    # the same identifiers each time: downloading again replaces the installed profile
    again = plistlib.loads(web.get(link).content)
    assert again["PayloadUUID"] == profile["PayloadUUID"]
