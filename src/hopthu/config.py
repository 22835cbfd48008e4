"""The one settings object: read from `<data>/hopthu.toml`, overridden by `HOPTHU_*` variables.

One typed schema (the dataclasses below) is the source of truth for the file, the environment
variables (`HOPTHU_<SECTION>_<KEY>`, e.g. `HOPTHU_STORE_DATABASE_URL`) and the sample file that
`hopthu init` writes. Everything is validated at start; an unknown key or a value of the wrong type is
an error, never silently ignored. The regulation's numbers are the defaults.

A key that has moved (`_MOVED`: the POP3 keys once under `[imap]`, now in `[pop3]`) is still read
under its old name, file or environment, with a warning naming its new place, so an existing
installation keeps starting; given under both names it is refused, since one would silently win.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from hopthu.errors import HopThuError
from hopthu.policy.filetypes import DANGEROUS_EXTENSIONS

log = logging.getLogger("hopthu.config")

CONFIG_FILE = "hopthu.toml"
GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class ServerSettings:
    domain: str = "cantho.gov.vn"
    web_url: str = "https://mail.cantho.gov.vn"
    bind: str = "127.0.0.1"
    # The web on plain HTTP and on HTTPS (R13.5); 0 picks a free port, -1 turns one off (not both).
    # With HTTPS on, plain HTTP answers a permanent redirect to it (docs/deploy.md, "HTTPS"), except
    # /healthz, what a trusted proxy says arrived over https, and loopback clients (below).
    http_port: int = 8080
    https_port: int = 8443
    # Plain HTTP pages for clients on this machine (a browser in development, a local probe or a
    # proxy not in trusted_proxies): loopback traffic never crosses a network. false redirects them too.
    allow_plain_http_on_loopback: bool = True
    # The certificate chain and key of every TLS listener (mail and web); SIGHUP reads them again.
    tls_cert: str = "tls/cert.pem"
    tls_key: str = "tls/key.pem"
    shutdown_grace_seconds: float = 10.0
    # Reverse proxies (addresses or CIDR networks, e.g. ["127.0.0.1/32"]) whose forwarding header
    # names the real client of the web; empty trusts nobody and every client is its TCP peer.
    trusted_proxies: tuple[str, ...] = ()
    # The header those proxies write: "x-forwarded-for" or "forwarded" (RFC 7239). Only this one is
    # read, so a client cannot forge the other.
    forwarded_header: str = "x-forwarded-for"


@dataclass(frozen=True)
class SmtpSettings:
    # The name this server gives in its greeting and Received headers; empty means mail.<domain>.
    hostname: str = ""
    mx_port: int = 2525
    submission_port: int = 1587  # STARTTLS
    submissions_port: int = 1465  # implicit TLS
    # The former provinces' domains (R13.7): still ours, but an address there reaches only the person
    # the former-address table names (`hopthu former`), whatever its local part; others are refused.
    domain_aliases: tuple[str, ...] = ("soctrang.gov.vn", "haugiang.gov.vn")
    # Domains that are pure aliases of the main one: x@alias is x@domain, local part for local part.
    flat_domain_aliases: tuple[str, ...] = ()
    max_message_size: int = 40 * MiB
    # The longest line accepted in DATA. RFC 5322 §2.1.1 says 998, but document systems send whole
    # HTML pages as one line and Postfix and Dovecot accept them; we store such lines byte for byte
    # and fold them only when relaying (RFC 5321 §4.5.3.1.6). Memory is bounded by max_message_size.
    max_line_bytes: int = 1 * MiB
    # Development only: allow AUTH without TLS from loopback clients.
    allow_plain_auth_on_loopback: bool = False
    dkim_selector: str = "hopthu"
    dkim_key: str = "dkim/private.pem"
    # Answer DNS from this TOML file instead of asking DNS servers (closed networks, staging, benchmarks).
    dns_file: str = ""
    # The port remote MX hosts are reached on (25; tests point it at a local stand-in).
    outbound_port: int = 25
    outbound_timeout_seconds: float = 60.0
    # Outbound queue: minutes between attempts (the last repeats), lifetime, and the delay notice.
    retry_minutes: tuple[int, ...] = (5, 10, 30, 60, 120, 240)
    queue_lifetime_hours: int = 120
    delay_notice_hours: int = 4
    # R3.1: outbound recipients per account; crossing `hard_limit_per_day` locks the account (R6.4a).
    limit_per_hour: int = 300
    limit_per_day: int = 1000
    hard_limit_per_day: int = 2000


@dataclass(frozen=True)
class ImapSettings:
    """IMAP (RFC 9051/3501) listeners; 0 picks a free port, -1 turns one off."""

    port: int = 1143  # STARTTLS
    tls_port: int = 1993  # implicit TLS
    # Development only: allow LOGIN/AUTHENTICATE without TLS from loopback clients, and POP3's
    # USER/PASS and AUTH too (one switch for the two mailbox-access protocols).
    allow_plain_login_on_loopback: bool = False
    # RFC 9051 §5.4: an idle client may be logged out after at least 30 minutes.
    idle_timeout_minutes: float = 30.0
    max_line: int = 64 * 1024
    # The largest APPEND; messages larger than the SMTP limit cannot arrive any other way either.
    max_literal: int = 40 * MiB
    # A whole IMAP command once signed in (its lines, continuation lines and literals together),
    # APPEND's message aside: larger commands are refused with NO [TOOBIG] (RFC 9051, RFC 7888 §4).
    max_command: int = 1 * MiB
    # A whole IMAP command before sign-in: LOGIN and AUTHENTICATE fit in far less (ID may be as large
    # as RFC 2971 allows, `imap.parser.ID_MAX_COMMAND`); a larger one, or a larger literal, is
    # refused without "+" and a non-synchronising one ends the connection.
    prelogin_max_command: int = 8 * 1024


@dataclass(frozen=True)
class Pop3Settings:
    """POP3 (RFC 1939) listeners; 0 picks a free port, -1 turns one off."""

    port: int = 1110  # STLS
    tls_port: int = 1995  # implicit TLS
    # A command line with its CRLF (RFC 2449 §4: 255 octets), and a SASL response line (RFC 5034).
    max_command: int = 255
    max_sasl_line: int = 4096


@dataclass(frozen=True)
class LimitsSettings:
    """Bounds on what clients may hold, per `hopthu serve` process (N nodes admit N times these).

    Connections are counted per listener kind in total and per client address (an IPv6 client per
    /64). Per-address limits are far above one person's needs because an agency's staff often reach
    the server from one NAT address: Dovecot's `mail_max_userip_connections` is 10 per person and
    address, so 500 lets 50 busy people share one address; Postfix's
    `smtpd_client_connection_count_limit` is 50 for the MX. Totals stay below the file descriptors
    of one process and what one event loop serves (an idle IMAP session costs a few kilobytes).
    """

    mx_connections: int = 2_000
    mx_connections_per_address: int = 50
    # Submission on 587 and 465 together.
    submission_connections: int = 5_000
    submission_connections_per_address: int = 500
    # IMAP on 143 and 993 together: phones and Outlook keep several connections each, all day.
    imap_connections: int = 20_000
    imap_connections_per_address: int = 500
    # POP3 on 110 and 995 together: sessions are short.
    pop3_connections: int = 5_000
    pop3_connections_per_address: int = 100
    # HTTP: a browser opens up to 6 connections and keeps them 75 s.
    http_connections: int = 20_000
    http_connections_per_address: int = 1_000
    # Seconds a connection may take to sign in (IMAP, POP3, submission) or, on the MX, to send its
    # first MAIL FROM, and an HTTP connection to send its first request's head (slow headers); then
    # it is told why and closed. Honest clients need a second or two.
    prelogin_timeout_seconds: float = 60.0
    # The largest HTTP request body: R5.1's 20 MB of attachments plus the message's text and fields
    # (raise it with policy.attachment_max). Larger bodies are refused with 413 before they are read
    # (Content-Length) or while they stream in (chunked).
    max_request_body: int = 25 * MiB
    # R13.7: the largest file a person may upload to import their old mail (.mbox, .eml, a .zip),
    # spooled to disk as it arrives, on the import page's address only.
    max_import_upload: int = 200 * MiB
    # A warning is logged when the event loop wakes this late (every protocol waits meanwhile).
    loop_stall_warning_ms: float = 250.0


@dataclass(frozen=True)
class StoreSettings:
    # Empty means the embedded default: SQLite in the data folder.
    database_url: str = ""
    blob_dir: str = "blobs"
    zstd_level: int = 3
    # Deliveries arriving within this window share one database commit.
    group_commit_ms: float = 2.0


@dataclass(frozen=True)
class PolicySettings:
    personal_quota: int = 5 * GiB
    agency_quota: int = 10 * GiB
    attachment_max: int = 20 * MiB
    quota_warn_percents: tuple[int, ...] = (80, 90, 95)
    password_max_age_months: int = 3
    # R4.3b: how many people may share one base address before an administrator must choose.
    naming_automatic_limit: int = 3
    # R6.3, R6.5: days a revoked or deleted mailbox's data is kept before it is purged.
    retention_days: int = 90
    # R6.3: days a deleted address stays unavailable to anyone else.
    address_quarantine_days: int = 365
    # R13.3: consecutive failed sign-ins from one source that pause the account for that source, and
    # for how long (the owner can still sign in from elsewhere, and is told by mail).
    signin_failures: int = 5
    signin_pause_minutes: float = 15.0
    # Spraying: a source that failed on this many different accounts within the window is paused on
    # every protocol for as long.
    signin_source_accounts: int = 20
    signin_source_minutes: float = 15.0
    # Guessing from many addresses: an account that failed from this many different sources within
    # `signin_source_minutes` makes each further failure on it wait this much longer (nobody paused).
    signin_guard_sources: int = 10
    signin_guard_delay_seconds: float = 3.0
    # R13.3, R11.4: minutes a webmail session may stay unused before it ends: a person's, one opened
    # as "public computer", and any session of someone holding an administrative role (the shortest
    # that applies wins).
    session_idle_minutes: float = 30.0
    session_public_idle_minutes: float = 15.0
    session_admin_idle_minutes: float = 15.0
    # R13.4: a successful sign-in from a (source, program) pair never seen for the account tells its
    # owner by mail (not the account's first sign-in ever).
    signin_new_place_notice: bool = True
    # App passwords (for IMAP, POP3 and SMTP programs, made in the webmail's settings) one person may
    # hold at once.
    app_passwords_max: int = 20


@dataclass(frozen=True)
class BackupSettings:
    # Where the daily backup job writes (R9.2); empty means no scheduled backup.
    dir: str = ""
    # How many backups the job keeps (the oldest go first; the bodies they share stay).
    keep: int = 7
    # R13.5: an absolute path, outside the data folder and the backups, to a file of 32 random bytes
    # (`head -c 32 /dev/urandom > /etc/hopthu/backup.key`): every backup is then encrypted with it
    # (AES-256-GCM, see backup/sealed.py) and restored only with it. Empty: backups are not encrypted.
    key_file: str = ""


@dataclass(frozen=True)
class AlertSettings:
    """What the operators are told by mail when it happens (R9.2; the `alerts` job, at most once a
    day per condition while it holds)."""

    # Items waiting in the outbound queue from which the operators are told it is growing.
    queue_items: int = 1000
    # The data folder's disk with less than this percentage free.
    disk_free_percent: float = 10.0


@dataclass(frozen=True)
class ProtectionSettings:
    """Spam scoring, malware scanning, sender rules and the mail log (R13.1, R13.2, R3.1, R3.2).

    Empty addresses turn an engine off: the built-in checks (SPF/DKIM/DMARC, DNS blocklists, file
    types, sending limits) then run alone, and /healthz and the portal say that scoring or scanning
    is off. See docs/deploy.md for rspamd and clamd in production.
    """

    # rspamd's normal worker (`/checkv2`), e.g. "http://127.0.0.1:11333", and its controller (learning).
    rspamd_url: str = ""
    rspamd_controller_url: str = ""
    rspamd_password: str = ""  # the controller's enable password, when it asks for one
    # clamd: "host:port" (TCP) or the path of its Unix socket, e.g. "/run/clamav/clamd.ctl".
    clamd: str = ""
    scan_timeout_seconds: float = 30.0
    # An engine down or slow: "tempfail" answers 451 (the sender tries again, nothing lost), "accept"
    # delivers the message marked as unscanned. The operators are alerted either way.
    on_failure: str = "tempfail"
    # rspamd's score: at or above `junk_score` to Thư rác, at or above `reject_score` refused at DATA;
    # mail our own people send at or above `hold_score` is held and the account locked (R3.1).
    junk_score: float = 6.0
    reject_score: float = 15.0
    hold_score: float = 10.0
    # DNS blocklists asked about the connecting address through our resolver (a DNS failure is "not
    # listed"); empty asks none.
    dnsbl_zones: tuple[str, ...] = ("zen.spamhaus.org",)
    # R13.2: files refused by their extension, also inside zip and rar archives; the default list of
    # executables, scripts, shortcuts, disk images and macro-enabled Office files is policy.filetypes'.
    dangerous_extensions: tuple[str, ...] = DANGEROUS_EXTENSIONS
    # Days a held message waits in quarantine for an operator before it is deleted.
    quarantine_days: int = 30
    # R13.1 (Nghị định 91/2020): days every message's envelope and identifying headers are kept.
    mail_log_days: int = 180
    # RFC 7489 aggregate reports: sent daily to the domains whose mail we judged, from this address
    # (empty: dmarc-reports@<domain>); reports about our domains are read from what reaches it. The MX
    # takes this address whether or not a mailbox has it (a mailbox there keeps a copy of each report).
    # `dmarc_reports = false` neither counts nor sends; received reports are still read.
    dmarc_reports: bool = True
    dmarc_report_address: str = ""


@dataclass(frozen=True)
class DnsSettings:
    """What `hopthu dns show` tells the operator to publish for each served domain, and the MTA-STS
    policy the web serves at `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461)."""

    # RFC 8461 §5: "testing" (senders report failures but deliver), "enforce" (they refuse to deliver
    # without valid TLS to our MX) or "none". Start with testing, read the TLS reports, then enforce.
    mta_sts_mode: str = "testing"
    # Seconds senders may keep the policy (RFC 8461 §3.2: at most 31557600); a week by default.
    mta_sts_max_age: int = 604_800
    # The published DMARC policy (RFC 7489 §6.3 `p=`): "none", "quarantine" or "reject".
    dmarc_policy: str = "quarantine"
    # Where TLS-RPT reports (RFC 8460) are sent; empty: postmaster@<domain>, which RFC 5321 §4.5.1
    # requires every domain to receive.
    tls_report_address: str = ""


@dataclass(frozen=True)
class FormerSettings:
    """The people of the former provinces and their old addresses (R13.7, `smtp.domain_aliases`)."""

    # Tell the sender of mail to an old address the person's new one: one notice per sender and old
    # address per `notice_days`, never to our own senders, bulk, list or automatic mail.
    notify_senders: bool = False
    notice_days: int = 30
    # The last day (YYYY-MM-DD, Vietnam time) a person may still sign in with their old address;
    # empty: never. After it the old address is an unknown login like any other.
    signin_until: str = ""

    @property
    def signin_last_day(self) -> dt.date | None:
        return dt.date.fromisoformat(self.signin_until) if self.signin_until else None


@dataclass(frozen=True)
class MetricsSettings:
    """`/metrics` for Prometheus, on a listener of its own (docs/monitoring.md).

    Apart from the web so that it is never published by the reverse proxy in front of the webmail:
    loopback by default, the scraper on the same machine or reaching it through a tunnel or a
    firewall rule the operators choose. With `hopthu serve --workers N`, worker n listens on the
    port plus n (0, 1, ...), since each process counts its own connections and deliveries."""

    # "host:port" ("[::1]:9187" for IPv6; port 0 picks a free one); empty turns the listener off.
    listen: str = "127.0.0.1:9187"
    # Seconds between two measurements of what is slow to measure (the blob folder's size, the
    # database's, the disk, the certificate): a scrape in between is answered from the last one.
    slow_seconds: float = 60.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    server: ServerSettings = field(default_factory=ServerSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    pop3: Pop3Settings = field(default_factory=Pop3Settings)
    store: StoreSettings = field(default_factory=StoreSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    protection: ProtectionSettings = field(default_factory=ProtectionSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    dns: DnsSettings = field(default_factory=DnsSettings)
    former: FormerSettings = field(default_factory=FormerSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def database_url(self) -> str:
        if self.store.database_url:
            return self.store.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hopthu.db').resolve()}"

    @property
    def hostname(self) -> str:
        return self.smtp.hostname or f"mail.{self.server.domain}"

    @property
    def blob_path(self) -> Path:
        return self.data_dir / self.store.blob_dir

    def path(self, relative: str) -> Path:
        """A path from the settings, relative to the data folder unless absolute."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.data_dir / candidate


_SECTIONS = {
    "server": ServerSettings,
    "smtp": SmtpSettings,
    "imap": ImapSettings,
    "pop3": Pop3Settings,
    "store": StoreSettings,
    "policy": PolicySettings,
    "backup": BackupSettings,
    "limits": LimitsSettings,
    "protection": ProtectionSettings,
    "alerts": AlertSettings,
    "dns": DnsSettings,
    "former": FormerSettings,
    "metrics": MetricsSettings,
}

# Keys that have moved: (old section, old key) -> (section, key). The POP3 settings sat under [imap]
# until the POP3 listener got its own section.
_MOVED = {
    ("imap", "pop3_port"): ("pop3", "port"),
    ("imap", "pop3_tls_port"): ("pop3", "tls_port"),
    ("imap", "pop3_max_command"): ("pop3", "max_command"),
    ("imap", "pop3_max_sasl_line"): ("pop3", "max_sasl_line"),
}


def _bad(key: str, value: object, expected: str) -> HopThuError:
    return HopThuError(
        f"Cấu hình sai: {key} = {value!r}, cần {expected}",
        f"Bad configuration: {key} = {value!r}, expected {expected}",
        code="config",
    )


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """Check (or, for strings from the environment, convert) one value against its declared type."""
    from_env = isinstance(value, str)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_env and value.lower() in {"1", "true", "yes", "0", "false", "no"}:
            return value.lower() in {"1", "true", "yes"}
        raise _bad(key, value, "true/false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_env and value.strip().lstrip("-").isdigit():
            return int(value)
        raise _bad(key, value, "một số nguyên / an integer")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if from_env:
            try:
                return float(value)
            except ValueError:
                pass
        raise _bad(key, value, "một số / a number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise _bad(key, value, "một chuỗi / a string")
    if kind in (tuple[int, ...], tuple[str, ...]):
        item_kind = kind.__args__[0]
        items = [item.strip() for item in value.split(",") if item.strip()] if from_env else value
        if not isinstance(items, list | tuple):
            raise _bad(key, value, "một danh sách / a list")
        if item_kind is str and not all(isinstance(item, str) for item in items):
            raise _bad(key, value, "một danh sách chuỗi / a list of strings")
        return tuple(_coerce(key, item, item_kind) for item in items)
    raise AssertionError(f"unsupported setting type {kind!r}")


def _build_section(name: str, cls: type, values: dict[str, Any]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        key = f"{name}.{sorted(unknown)[0]}"
        raise HopThuError(
            f"Cấu hình có khóa không biết: {key}", f"Unknown configuration key: {key}", code="config"
        )
    return cls(**{k: _coerce(f"{name}.{k}", v, hints[k]) for k, v in values.items()})


def _validate(settings: Settings) -> Settings:
    """Rules across values that a type alone cannot say."""
    retry = settings.smtp.retry_minutes
    if not retry or min(retry) < 1:
        raise _bad("smtp.retry_minutes", list(retry), "ít nhất một số phút ≥ 1 / at least one value ≥ 1")
    for key in ("http_port", "https_port"):
        port = getattr(settings.server, key)
        if not -1 <= port <= 65535:
            raise _bad(f"server.{key}", port, "-1 (tắt / off) hoặc / or 0-65535")
    if settings.server.http_port == settings.server.https_port == -1:
        raise _bad("server.https_port", -1, "http_port hoặc https_port ≥ 0 / one of the two ≥ 0")
    for key in ("mx_port", "submission_port", "submissions_port", "outbound_port"):
        port = getattr(settings.smtp, key)
        if not 0 <= port <= 65535:
            raise _bad(f"smtp.{key}", port, "0-65535")
    for section in ("imap", "pop3"):
        for key in ("port", "tls_port"):
            port = getattr(getattr(settings, section), key)
            if not -1 <= port <= 65535:
                raise _bad(f"{section}.{key}", port, "-1 (tắt / off) hoặc / or 0-65535")
    for f in dataclasses.fields(LimitsSettings):
        value = getattr(settings.limits, f.name)
        if value <= 0:
            raise _bad(f"limits.{f.name}", value, "> 0")
    if settings.smtp.max_line_bytes < 1000:
        raise _bad("smtp.max_line_bytes", settings.smtp.max_line_bytes, "≥ 1000 (RFC 5321 §4.5.3.1.6)")
    for proxy in settings.server.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise _bad("server.trusted_proxies", proxy, "IP hoặc mạng CIDR / an IP or CIDR network") from None
    if settings.server.forwarded_header not in ("x-forwarded-for", "forwarded"):
        header = settings.server.forwarded_header
        raise _bad("server.forwarded_header", header, '"x-forwarded-for" | "forwarded"')
    for key in ("signin_failures", "signin_source_accounts", "signin_guard_sources", "app_passwords_max"):
        if getattr(settings.policy, key) < 1:
            raise _bad(f"policy.{key}", getattr(settings.policy, key), "≥ 1")
    for key in ("session_idle_minutes", "session_public_idle_minutes", "session_admin_idle_minutes"):
        if not getattr(settings.policy, key) >= 1:  # NaN too
            raise _bad(f"policy.{key}", getattr(settings.policy, key), "≥ 1")
    protection = settings.protection
    if protection.on_failure not in ("tempfail", "accept"):
        raise _bad("protection.on_failure", protection.on_failure, '"tempfail" | "accept"')
    if not protection.junk_score <= protection.reject_score:
        raise _bad("protection.junk_score", protection.junk_score, "≤ reject_score")
    for key in ("quarantine_days", "mail_log_days"):
        if getattr(protection, key) < 1:
            raise _bad(f"protection.{key}", getattr(protection, key), "≥ 1")
    if settings.alerts.queue_items < 1:
        raise _bad("alerts.queue_items", settings.alerts.queue_items, "≥ 1")
    if not 0 <= settings.alerts.disk_free_percent <= 100:
        raise _bad("alerts.disk_free_percent", settings.alerts.disk_free_percent, "0-100")
    dns = settings.dns
    if dns.mta_sts_mode not in ("testing", "enforce", "none"):
        raise _bad("dns.mta_sts_mode", dns.mta_sts_mode, '"testing" | "enforce" | "none"')
    if not 86_400 <= dns.mta_sts_max_age <= 31_557_600:
        raise _bad("dns.mta_sts_max_age", dns.mta_sts_max_age, "86400-31557600 (RFC 8461 §3.2)")
    if dns.dmarc_policy not in ("none", "quarantine", "reject"):
        raise _bad("dns.dmarc_policy", dns.dmarc_policy, '"none" | "quarantine" | "reject"')
    if dns.tls_report_address and "@" not in dns.tls_report_address.strip("@"):
        raise _bad("dns.tls_report_address", dns.tls_report_address, "một địa chỉ thư / an address")
    _validate_former(settings)
    if settings.metrics.listen:
        listen_address(settings.metrics.listen)  # a clear error now rather than at the bind
    if not settings.metrics.slow_seconds >= 1:  # NaN too
        raise _bad("metrics.slow_seconds", settings.metrics.slow_seconds, "≥ 1")
    if settings.imap.idle_timeout_minutes < 30:
        raise _bad("imap.idle_timeout_minutes", settings.imap.idle_timeout_minutes, "≥ 30 (RFC 9051)")
    return settings


def _validate_former(settings: Settings) -> None:
    """R13.7: a domain is either a former province's (per-person table) or a flat alias, never both,
    and never the main domain; the sign-in date is a date."""
    main = settings.server.domain.lower()
    former = {d.lower() for d in settings.smtp.domain_aliases}
    flat = {d.lower() for d in settings.smtp.flat_domain_aliases}
    for key, domains in (("smtp.domain_aliases", former), ("smtp.flat_domain_aliases", flat)):
        if main in domains:
            raise _bad(key, main, "miền khác miền chính / a domain other than the main one")
    both = sorted(former & flat)
    if both:
        raise _bad(
            "smtp.flat_domain_aliases",
            both[0],
            "miền không có trong smtp.domain_aliases / not also a former domain",
        )
    if settings.former.notice_days < 1:
        raise _bad("former.notice_days", settings.former.notice_days, "≥ 1")
    try:
        settings.former.signin_last_day  # noqa: B018 - parsed here so a bad date stops the start
    except ValueError:
        raise _bad("former.signin_until", settings.former.signin_until, "YYYY-MM-DD") from None


def listen_address(text: str) -> tuple[str, int]:
    """ "host:port" or "[v6]:port" as (host, port), or the configuration error saying what is wrong."""
    host, colon, port = text.strip().rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address without its brackets: where would its port begin?
    try:
        ipaddress.ip_address(host)
        number = int(port) if colon and port.isdigit() else -1
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise _bad("metrics.listen", text, '"địa chỉ IP:cổng" / "IP address:port", e.g. "127.0.0.1:9187"')
    return host, number


def load_settings(data_dir: Path | str, environ: dict[str, str] | None = None) -> Settings:
    """Read the data folder's configuration file (if any) and the `HOPTHU_*` environment."""
    environ = dict(os.environ if environ is None else environ)
    data_dir = Path(data_dir)
    raw: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    config_file = data_dir / CONFIG_FILE
    if config_file.exists():
        try:
            loaded = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise HopThuError(
                f"Tệp cấu hình {config_file} không đọc được: {error}",
                f"Configuration file {config_file} cannot be read: {error}",
                code="config",
            ) from None
        for section, values in loaded.items():
            if section not in _SECTIONS or not isinstance(values, dict):
                raise HopThuError(
                    f"Cấu hình có mục không biết: [{section}]",
                    f"Unknown configuration section: [{section}]",
                    code="config",
                )
            raw[section].update(values)
    for section, cls in _SECTIONS.items():
        for f in dataclasses.fields(cls):
            env_value = environ.get(f"HOPTHU_{section.upper()}_{f.name.upper()}")
            if env_value is not None:
                raw[section][f.name] = env_value
    _read_moved(raw, environ)
    return _validate(
        Settings(
            data_dir=data_dir,
            **{name: _build_section(name, cls, raw[name]) for name, cls in _SECTIONS.items()},
        )
    )


def _read_moved(raw: dict[str, dict[str, Any]], environ: dict[str, str]) -> None:
    """Move each value found under an old name (`_MOVED`) to its new place, warning that it moved."""
    for (old_section, old_key), (section, key) in _MOVED.items():
        old, new = f"{old_section}.{old_key}", f"{section}.{key}"
        value = raw[old_section].pop(old_key, None)
        env_value = environ.get(f"HOPTHU_{old_section.upper()}_{old_key.upper()}")
        if env_value is not None:
            value = env_value
        if value is None:
            continue
        if key in raw[section]:
            raise HopThuError(
                f"Cấu hình có cả {old} (tên cũ) và {new}: hãy xóa {old}",
                f"Configuration sets both {old} (its old name) and {new}: remove {old}",
                code="config",
            )
        log.warning("configuration key %s has moved: read it as %s; set %s instead", old, new, new)
        raw[section][key] = value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def sample_config(settings: Settings) -> str:
    """The configuration file `hopthu init` writes: every key with its current value."""
    lines = [
        "# Hộp Thư configuration. Every key may also be set as HOPTHU_<SECTION>_<KEY>.",
        "# Sizes are in bytes. An empty store.database_url means SQLite in this folder;",
        '# for PostgreSQL: database_url = "postgresql+asyncpg://user@host/dbname".',
    ]
    for name in _SECTIONS:
        lines.append(f"\n[{name}]")
        section = getattr(settings, name)
        for f in dataclasses.fields(section):
            lines.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
    return "\n".join(lines) + "\n"
