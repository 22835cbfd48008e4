"""An Apple configuration profile (.mobileconfig) that sets up one person's mail on an iPhone, iPad
or Mac: IMAP and submission with their address and sign-in name filled in, and the city's address
book over CardDAV with the same sign-in; never a password (the device asks for it when the profile
is installed). Unsigned: the device says so, and installs it.

Identifiers are derived from the address, so downloading the profile again replaces the one
installed instead of adding a second account.
"""

from __future__ import annotations

import plistlib
import uuid
from urllib.parse import urlsplit

from hopthu.carddav import PREFIX as CARDDAV
from hopthu.config import Settings
from hopthu.discovery.endpoints import Endpoints, login_name, split_address
from hopthu.errors import HopThuError

MEDIA_TYPE = "application/x-apple-aspen-config"
_NAMESPACE = uuid.UUID("3f0b8a5e-2f4c-4f0e-9c55-5b6b7b1f2a10")  # this product's profiles


def profile(settings: Settings, found: Endpoints, address: str, display_name: str) -> bytes:
    """The profile as an XML property list."""
    local, domain = split_address(address, settings)
    if not found.imap or not found.smtp:
        raise HopThuError(
            "Máy chủ chưa mở cổng IMAP và cổng gửi thư: không tạo được hồ sơ cài đặt",
            "The server offers no IMAP or no submission port: no profile can be made",
            code="not_found",
        )
    login = login_name(local, domain)
    incoming, outgoing = found.imap[0], found.smtp[0]
    reverse = ".".join(reversed(settings.server.domain.lower().split(".")))
    identifier = f"{reverse}.hopthu.{local}"
    mail = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.mail",
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, f"mail:{login}")).upper(),
        "PayloadDisplayName": f"Thư {login}",
        "EmailAccountDescription": f"Hộp Thư {login}",
        "EmailAccountName": display_name,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": address.strip().lower(),
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": incoming.host,
        "IncomingMailServerPortNumber": incoming.port,
        # Apple's "UseSSL" is TLS on either kind of port: from the first byte on a TLS port,
        # by STARTTLS on a plain one.
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerUsername": login,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": outgoing.host,
        "OutgoingMailServerPortNumber": outgoing.port,
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerUsername": login,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "PreventMove": False,
        "SMIMEEnabled": False,
    }
    web = urlsplit(settings.server.web_url)
    contacts = {  # the city's address book over CardDAV, read-only, with the same sign-in
        "PayloadType": "com.apple.carddav.account",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.carddav",
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, f"carddav:{login}")).upper(),
        "PayloadDisplayName": "Danh bạ thành phố",
        "CardDAVAccountDescription": "Danh bạ thành phố / City address book",
        "CardDAVHostName": (web.hostname or settings.hostname).lower(),
        "CardDAVPort": web.port or (443 if web.scheme == "https" else 80),
        "CardDAVPrincipalURL": f"{CARDDAV}/{local}/",
        "CardDAVUseSSL": web.scheme == "https",
        "CardDAVUsername": login,
    }
    whole = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, f"profile:{login}")).upper(),
        "PayloadDisplayName": f"Hộp Thư: {login}",
        "PayloadDescription": (
            f"Cài đặt thư {login} (IMAP {incoming.host}:{incoming.port}, gửi thư {outgoing.port}). "
            f"Mail settings for {login}."
        ),
        "PayloadOrganization": settings.server.domain.lower(),
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [mail, contacts],
    }
    return plistlib.dumps(whole, fmt=plistlib.FMT_XML)


def file_name(address: str) -> str:
    """The downloaded file's name: the address's local part, in characters any file system takes."""
    local = address.partition("@")[0]
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in local)[:64]
    return f"hopthu-{safe or 'thu'}.mobileconfig"
