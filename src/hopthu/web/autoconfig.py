"""Where mail programs fetch their own settings, and the MTA-STS policy other mail servers fetch.

- Thunderbird: `/.well-known/autoconfig/mail/config-v1.1.xml` on the domain's site and
  `/mail/config-v1.1.xml` on `autoconfig.<domain>`, with `?emailaddress=`.
- Outlook: `POST /autodiscover/autodiscover.xml` (and `/Autodiscover/Autodiscover.xml`) on
  `autodiscover.<domain>`, the POX exchange.
- iPhone, iPad, Mac: the signed-in person's profile from the settings page (`PROFILE`).
- Other mail servers: `/.well-known/mta-sts.txt` on `mta-sts.<domain>` (RFC 8461 §3.3).

Only the profile needs a sign-in: the rest names server names and ports, which the help pages show
anyone too. Each answers only for our domains (`server.domain`, `smtp.domain_aliases`); another is
refused in both languages. The ports named are those the process listens on (`Services.ports`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from hopthu.discovery import clientconfig, mobileconfig, mtasts
from hopthu.discovery.endpoints import Endpoints, endpoints, our_domain
from hopthu.errors import HopThuError
from hopthu.services import Services
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import services_of

router = APIRouter()
PROFILE = "/cai-dat/ho-so-apple.mobileconfig"
XML = "application/xml; charset=utf-8"
_STATUS = {"not_found": 404, "413": 413}  # HopThuError.code; anything else is 400


def _offered(services: Services) -> Endpoints:
    return endpoints(services.settings, getattr(services, "ports", None) or None)


def _refusal(error: HopThuError) -> PlainTextResponse:
    """A program's request refused: plain text in both languages (no page around it)."""
    return PlainTextResponse(f"{error.vi}\n{error.en}\n", status_code=_STATUS.get(error.code, 400))


def _host(request: Request) -> str:
    return (request.url.hostname or "").lower().rstrip(".")


def _host_domain(request: Request, prefix: str, services: Services) -> None:
    """Asked on `<prefix><domain>`: that domain must be ours (any other host name serves the main
    domain, e.g. the web site's own name)."""
    host = _host(request)
    if host.startswith(prefix):
        our_domain(host.removeprefix(prefix), services.settings)


@router.get("/.well-known/autoconfig/mail/config-v1.1.xml", include_in_schema=False)
@router.get("/mail/config-v1.1.xml", include_in_schema=False)
async def thunderbird(request: Request, emailaddress: str | None = None) -> Response:
    """Thunderbird's autoconfig (clientConfig 1.1)."""
    services = services_of(request)
    try:
        _host_domain(request, "autoconfig.", services)
        body = clientconfig.thunderbird_config(services.settings, _offered(services), emailaddress)
    except HopThuError as error:
        return _refusal(error)
    return Response(body, media_type=XML)


@router.post("/autodiscover/autodiscover.xml", include_in_schema=False)
@router.post("/Autodiscover/Autodiscover.xml", include_in_schema=False)
async def autodiscover(request: Request) -> Response:
    """Outlook's Autodiscover: the request's XML read only up to its bound, its answer (settings or
    a POX error) always XML."""
    services = services_of(request)
    try:
        body = await _bounded_body(request, clientconfig.MAX_AUTODISCOVER_BODY)
        address = clientconfig.requested_address(body)
        answer = clientconfig.autodiscover_response(services.settings, _offered(services), address)
    except HopThuError as error:
        status = _STATUS.get(error.code, 400)
        return Response(clientconfig.autodiscover_error(error), status_code=status, media_type=XML)
    return Response(answer, media_type=XML)


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to pass `limit` (declared or streamed)."""
    too_large = HopThuError(
        f"Yêu cầu quá lớn (tối đa {limit} byte)",
        f"The request is too large (at most {limit} bytes)",
        code="413",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


@router.get(mtasts.PATH, include_in_schema=False)
async def mta_sts_policy(request: Request) -> Response:
    """RFC 8461 §3.3: fetched by sending servers from `https://mta-sts.<domain>`, text/plain."""
    services = services_of(request)
    try:
        _host_domain(request, mtasts.HOST_PREFIX, services)
    except HopThuError as error:
        return _refusal(error)
    return PlainTextResponse(mtasts.policy_text(services.settings))


@router.get(PROFILE, include_in_schema=False)
async def apple_profile(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    """The signed-in person's configuration profile: their address, no password."""
    services = services_of(request)
    address = f"{who.account.local}@{services.settings.server.domain.lower()}"
    body = mobileconfig.profile(services.settings, _offered(services), address, who.account.display_name)
    disposition = f'attachment; filename="{mobileconfig.file_name(address)}"'
    return Response(body, media_type=mobileconfig.MEDIA_TYPE, headers={"Content-Disposition": disposition})
