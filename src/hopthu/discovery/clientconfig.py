"""The files mail programs fetch to configure themselves: Thunderbird's autoconfig (clientConfig 1.1)
and Outlook's Autodiscover "POX" exchange (the `outlook` response schema, 2006a).

Both only name servers, ports and the sign-in name; neither holds a secret, so neither asks anyone
to sign in. The Autodiscover request is XML a stranger sends: it is read only when small
(`MAX_AUTODISCOVER_BODY`, enforced by the caller while reading), by defusedxml with DTDs forbidden,
so no entity can be declared, let alone expanded, and no external file is ever fetched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element, SubElement

import defusedxml
import defusedxml.ElementTree as SafeET

from hopthu.carddav import PREFIX as CARDDAV
from hopthu.config import Settings
from hopthu.discovery.endpoints import Endpoint, Endpoints, login_name, served_domains, split_address
from hopthu.errors import HopThuError

PRODUCT = "Hộp Thư"
HELP_PAGE = "/tro-giup/cai-dat-ung-dung"
MAX_AUTODISCOVER_BODY = 16 * 1024  # Outlook's request is a few hundred bytes
AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"


def _text(parent: Element, tag: str, text: str) -> Element:
    child = SubElement(parent, tag)
    child.text = text
    return child


def _serialise(root: Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# Thunderbird autoconfig ------------------------------------------------------------------------------

_SOCKET_TYPE = {True: "SSL", False: "STARTTLS"}  # clientConfig 1.1 `socketType`


def thunderbird_config(settings: Settings, found: Endpoints, address: str | None) -> bytes:
    """The clientConfig 1.1 file: every served domain, each incoming server (IMAP before POP3, TLS
    port first: Thunderbird takes the first it can reach) and each submission server. With an
    address, its sign-in name (the address as typed); without, Thunderbird's placeholder for the
    whole address."""
    if address is not None:
        local, domain = split_address(address, settings)
        username = login_name(local, domain)
    else:
        username = "%EMAILADDRESS%"
    root = Element("clientConfig", version="1.1")
    provider = SubElement(root, "emailProvider", id=settings.server.domain.lower())
    for domain in served_domains(settings):
        _text(provider, "domain", domain)
    _text(provider, "displayName", f"{PRODUCT} {settings.server.domain.lower()}")
    _text(provider, "displayShortName", PRODUCT)
    for endpoint in found.imap + found.pop3:
        _server(SubElement(provider, "incomingServer", type=endpoint.protocol), endpoint, username)
    for endpoint in found.smtp:
        _server(SubElement(provider, "outgoingServer", type="smtp"), endpoint, username)
    documentation = SubElement(provider, "documentation", url=settings.server.web_url.rstrip("/") + HELP_PAGE)
    _text(documentation, "descr", "Cài đặt Outlook, Thunderbird, điện thoại").set("lang", "vi")
    _text(documentation, "descr", "Setting up Outlook, Thunderbird, phones").set("lang", "en")
    # The city's address book over CardDAV, read-only, with the same sign-in (beside the provider,
    # as the clientConfig format places address books).
    book = SubElement(root, "addressBook", type="carddav")
    _text(book, "username", username)
    _text(book, "authentication", "http-basic")
    _text(book, "serverURL", settings.server.web_url.rstrip("/") + CARDDAV + "/")
    return _serialise(root)


def _server(element: Element, endpoint: Endpoint, username: str) -> None:
    _text(element, "hostname", endpoint.host)
    _text(element, "port", str(endpoint.port))
    _text(element, "socketType", _SOCKET_TYPE[endpoint.tls])
    _text(element, "authentication", "password-cleartext")  # AUTH=PLAIN, only ever inside TLS
    _text(element, "username", username)


# Outlook Autodiscover (POX) -----------------------------------------------------------------------


class AutodiscoverRefused(HopThuError):
    """A request Autodiscover does not answer with settings; `code` is its POX error code."""


def _refused(vi: str, en: str) -> AutodiscoverRefused:
    return AutodiscoverRefused(vi, en, code="600")  # POX 600: Invalid Request


def requested_address(body: bytes) -> str:
    """The `EMailAddress` of an Autodiscover request body (already bounded by the caller)."""
    if len(body) > MAX_AUTODISCOVER_BODY:
        raise AutodiscoverRefused(
            f"Yêu cầu Autodiscover quá lớn (tối đa {MAX_AUTODISCOVER_BODY} byte)",
            f"The Autodiscover request is too large (at most {MAX_AUTODISCOVER_BODY} bytes)",
            code="413",
        )
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise _refused(
            "Yêu cầu Autodiscover có DTD hoặc thực thể: không được nhận",
            "The Autodiscover request has a DTD or entities: not accepted",
        ) from None
    except (ET.ParseError, ValueError, LookupError):  # LookupError: an encoding Python lacks
        raise _refused(
            "Yêu cầu Autodiscover không phải XML hợp lệ", "The Autodiscover request is not well-formed XML"
        ) from None
    fields: dict[str, str] = {}
    for element in root.iter():
        name = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""
        if name in ("EMailAddress", "AcceptableResponseSchema") and name not in fields:
            fields[name] = (element.text or "").strip()
    schema = fields.get("AcceptableResponseSchema")
    if schema is not None and schema != OUTLOOK_SCHEMA:
        raise _refused(
            "Chỉ trả lời theo lược đồ Outlook (không có Exchange ActiveSync)",
            "Only the Outlook response schema is answered (there is no Exchange ActiveSync)",
        )
    address = fields.get("EMailAddress", "")
    if not address:
        raise _refused(
            "Yêu cầu Autodiscover thiếu EMailAddress", "The Autodiscover request has no EMailAddress"
        )
    return address


def autodiscover_response(settings: Settings, found: Endpoints, address: str) -> bytes:
    """Settings for `address` (at one of our domains, else refused): the first IMAP and the first
    submission listener, TLS from the first byte where there is one."""
    local, domain = split_address(address, settings)
    login = login_name(local, domain)
    root = Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE)
    response = SubElement(root, "Response", xmlns=OUTLOOK_SCHEMA)
    user = SubElement(response, "User")
    _text(user, "DisplayName", login)
    account = SubElement(response, "Account")
    _text(account, "AccountType", "email")
    _text(account, "Action", "settings")
    for kind, offered in (("IMAP", found.imap), ("SMTP", found.smtp)):
        if offered:
            _protocol(SubElement(account, "Protocol"), kind, offered[0], login)
    return _serialise(root)


def _protocol(element: Element, kind: str, endpoint: Endpoint, login: str) -> None:
    _text(element, "Type", kind)
    _text(element, "Server", endpoint.host)
    _text(element, "Port", str(endpoint.port))
    _text(element, "DomainRequired", "off")
    _text(element, "LoginName", login)
    _text(element, "SPA", "off")
    _text(element, "SSL", "on")
    # `Encryption` overrides `SSL`: "SSL" is TLS from the first byte, "TLS" is STARTTLS.
    _text(element, "Encryption", "SSL" if endpoint.tls else "TLS")
    _text(element, "AuthRequired", "on")
    if kind == "SMTP":
        _text(element, "UsePOPAuth", "on")  # the same name and password as for reading


def autodiscover_error(error: HopThuError) -> bytes:
    """The POX error answer, its message in both languages."""
    root = Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE)
    failed = SubElement(SubElement(root, "Response"), "Error")
    _text(failed, "ErrorCode", "600")
    _text(failed, "Message", f"{error.vi} / {error.en}")
    SubElement(failed, "DebugData")
    return _serialise(root)
