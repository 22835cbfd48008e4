"""Every DNS record the operator publishes for each served domain, as zone-file lines.

For each domain (the main one, then the former provinces', R13.7): where its mail goes (MX), who may
send as it (SPF, RFC 7208), the key our signatures are checked with (DKIM, RFC 6376), what to do with
mail failing both (DMARC, RFC 7489, with the address aggregate reports go to), that our MX takes
mail only over TLS (MTA-STS, RFC 8461) and where TLS failures are reported (TLS-RPT, RFC 8460), and
how mail programs find the servers (SRV, RFC 6186 and RFC 8314; `autoconfig.`, `autodiscover.`)
and the city's address book (CardDAV, RFC 6764).
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from hopthu.carddav import PREFIX as CARDDAV
from hopthu.config import Settings
from hopthu.discovery import mtasts
from hopthu.discovery.endpoints import endpoints, served_domains
from hopthu.protection.aggregate import report_address

TTL = 3600
_TXT_STRING = 255  # RFC 1035 §3.3.14: one TXT character-string holds at most 255 octets
MX_PREFERENCE = 10


@dataclass(frozen=True, slots=True)
class Record:
    """One record to publish: its owner name (no final dot), type and value as a zone file has it."""

    domain: str  # the served domain it belongs to
    kind: str  # what it is for: "mx", "spf", "dkim", "dmarc", "srv", …
    name: str
    type: str
    value: str

    def zone_line(self) -> str:
        value = _txt(self.value) if self.type == "TXT" else self.value
        return f"{self.name}. {TTL} IN {self.type} {value}"

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "zone": self.zone_line()}


def _txt(value: str) -> str:
    parts = [value[i : i + _TXT_STRING] for i in range(0, len(value), _TXT_STRING)] or [""]
    quoted = " ".join('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"' for part in parts)
    return quoted if len(parts) == 1 else f"( {quoted} )"


# RFC 6186 §3 and RFC 8314 §5.1: (service label, the listener's role); implicit TLS is preferred.
SRV_SERVICES = (
    ("_imaps._tcp", "imaps"),
    ("_imap._tcp", "imap"),
    ("_pop3s._tcp", "pop3s"),
    ("_pop3._tcp", "pop3"),
    ("_submissions._tcp", "submissions"),
    ("_submission._tcp", "submission"),
)
_IMPLICIT_TLS_PRIORITY, _STARTTLS_PRIORITY = 0, 10


def web_host(settings: Settings) -> str:
    """The host of the public web address (`server.web_url`), where autoconfig, Autodiscover and
    the MTA-STS policy are served."""
    return (urlsplit(settings.server.web_url).hostname or settings.hostname).lower()


def _web_port(settings: Settings) -> int:
    parts = urlsplit(settings.server.web_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _points_at_web(domain: str, kind: str, name: str, settings: Settings) -> Record:
    """`name` at the web host: a CNAME to its name, or an A/AAAA record when it is an address."""
    host = web_host(settings)
    if not _is_address(host):
        return Record(domain, kind, name, "CNAME", f"{host}.")
    return Record(domain, kind, name, "A" if ipaddress.ip_address(host).version == 4 else "AAAA", host)


def records(settings: Settings, dkim_value: str) -> list[Record]:
    """Every record of every served domain. `dkim_value`: the DKIM key's TXT value (`smtp.dkim`)."""
    mx = settings.hostname.lower()
    reports = report_address(settings)
    report_domain = reports.rpartition("@")[2]
    tls_reports = (settings.dns.tls_report_address or f"postmaster@{settings.server.domain}").lower()
    offered = {endpoint.role: endpoint for endpoint in endpoints(settings).all()}
    sts_id = mtasts.policy_id(settings)
    found: list[Record] = []
    for domain in served_domains(settings):
        found += [
            Record(domain, "mx", domain, "MX", f"{MX_PREFERENCE} {mx}."),
            Record(domain, "spf", domain, "TXT", "v=spf1 mx -all"),
            Record(domain, "dkim", f"{settings.smtp.dkim_selector}._domainkey.{domain}", "TXT", dkim_value),
            Record(
                domain,
                "dmarc",
                f"_dmarc.{domain}",
                "TXT",
                f"v=DMARC1; p={settings.dns.dmarc_policy}; rua=mailto:{reports}",
            ),
        ]
        if report_domain != domain:  # RFC 7489 §7.1: the report domain agrees to receive them
            name = f"{domain}._report._dmarc.{report_domain}"
            found.append(Record(domain, "dmarc-report", name, "TXT", "v=DMARC1"))
        found += [
            Record(domain, "mta-sts", f"_mta-sts.{domain}", "TXT", f"v=STSv1; id={sts_id}"),
            _points_at_web(domain, "mta-sts-host", f"{mtasts.HOST_PREFIX}{domain}", settings),
            Record(domain, "tls-rpt", f"_smtp._tls.{domain}", "TXT", f"v=TLSRPTv1; rua=mailto:{tls_reports}"),
        ]
        for label, role in SRV_SERVICES:
            endpoint = offered.get(role)
            if endpoint is None:  # RFC 6186 §4: a target of "." says the service is not offered
                value = "0 0 0 ."
            else:
                priority = _IMPLICIT_TLS_PRIORITY if endpoint.tls else _STARTTLS_PRIORITY
                value = f"{priority} 1 {endpoint.port} {endpoint.host}."
            found.append(Record(domain, "srv", f"{label}.{domain}", "SRV", value))
        found += [
            _points_at_web(domain, "autoconfig", f"autoconfig.{domain}", settings),
            _points_at_web(domain, "autodiscover", f"autodiscover.{domain}", settings),
        ]
        if not _is_address(web_host(settings)):  # an SRV target is a name (RFC 2782)
            value = f"0 1 {_web_port(settings)} {web_host(settings)}."
            found.append(Record(domain, "srv", f"_autodiscover._tcp.{domain}", "SRV", value))
            # RFC 6764 §3-4: the city's address book over CardDAV, and its path on the web host
            carddav = (
                "_carddavs._tcp" if urlsplit(settings.server.web_url).scheme == "https" else "_carddav._tcp"
            )
            found.append(Record(domain, "srv", f"{carddav}.{domain}", "SRV", value))
            found.append(Record(domain, "carddav-path", f"{carddav}.{domain}", "TXT", f"path={CARDDAV}/"))
    return found


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
