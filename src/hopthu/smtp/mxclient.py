"""The SMTP client side of outbound mail: one message, one domain, that domain's mail servers.

The queue (`smtp.outbound`) decides what is sent when and what comes of it; this module only carries a
message to a remote MX and says, per recipient, how it went, as an `Outcome`. Kept apart so that the
conversation with other servers (routing, TLS, SMTP extensions, reading replies) can be read and tested
without leases, retries or the database.

Routing follows RFC 5321 §5.1 through the `Resolver`: MX hosts in order of preference, the domain
itself when it has no MX (the implicit MX), and no attempt at all for a null MX (RFC 7505). Each
session tries STARTTLS when offered and falls back to plain text when it fails (RFC 3207, opportunistic
TLS after RFC 7435). Replies become outcomes with their enhanced status code (RFC 2034, RFC 3463):
2xx delivered, 5xx failed, anything else a retry.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiosmtplib

from hopthu.config import Settings
from hopthu.smtp.dns import DnsError, Resolver
from hopthu.smtp.linefold import fold_long_lines

log = logging.getLogger(__name__)

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})\b")  # RFC 3463 §2, at the start of a reply


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to for one recipient."""

    kind: str  # "delivered" | "failed" (permanent) | "retry" (temporary)
    status: str  # RFC 3463 enhanced status code
    diagnostic: str  # the remote reply ("550 5.1.1 No such user") or what happened on our side
    remote_mta: str | None = None  # the host whose reply `diagnostic` is


def from_reply(code: int, message: str, host: str) -> Outcome:
    """An SMTP reply as an outcome: the enhanced code it carries (RFC 2034), else one from its class."""
    kind = {"2": "delivered", "5": "failed", "4": "retry"}.get(str(code)[:1])
    if kind is None:  # not a reply code at all: the conversation went wrong
        return Outcome("retry", "4.5.0", f"{code} {message}".strip(), host)
    found = _ENHANCED.match(message)
    status = found.group(0) if found and found.group(1) == str(code)[0] else f"{str(code)[0]}.0.0"
    return Outcome(kind, status, f"{code} {message}", host)


class _HostFailed(Exception):
    """This host could not take the message now; the next one may."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.diagnostic)
        self.outcome = outcome


class _TlsFailed(Exception):
    """STARTTLS was offered but did not work: opportunistic TLS falls back to plain text."""


class MxClient:
    """Carries one message for recipients of one domain to that domain's mail servers (RFC 5321 §5)."""

    def __init__(self, settings: Settings, resolver: Resolver) -> None:
        self.settings = settings
        self.resolver = resolver
        # RFC 7435 opportunistic security: encryption without authentication beats plain text. Without
        # DANE or MTA-STS nothing says which certificate an MX should have, so none is checked.
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE

    async def transmit(
        self, domain: str, sender: str, recipients: Sequence[str], load: Callable[[], Awaitable[bytes]]
    ) -> list[Outcome]:
        """One outcome per recipient, in order; `load` reads the message once a route is known."""
        try:
            records = await self.resolver.mx(domain)
        except DnsError as error:
            return [Outcome("retry", "4.4.3", f"MX lookup for {domain} failed: {error}")] * len(recipients)
        hosts = [host.rstrip(".").lower() for _, host in records]
        if records and not any(hosts):  # RFC 7505 §3: the null MX "0 ." says the domain takes no mail
            return [Outcome("failed", "5.1.10", f"{domain} publishes a null MX: it accepts no mail")] * len(
                recipients
            )
        implicit = not records  # RFC 5321 §5.1: no MX, so the domain itself is the mail server
        data = fold_long_lines(await load())  # RFC 5321 §4.5.3.1.6: what we store may be longer
        last = Outcome("retry", "4.4.1", f"no mail server of {domain} answered")
        for host in [h for h in hosts if h] or [domain]:
            try:
                addresses = await self.resolver.addresses(host)
            except DnsError as error:
                last = Outcome("retry", "4.4.3", f"address lookup for {host} failed: {error}")
                continue
            if not addresses:
                if implicit:
                    return [Outcome("failed", "5.1.2", f"{domain} has no MX and no address")] * len(
                        recipients
                    )
                last = Outcome("retry", "4.4.4", f"MX host {host} has no address")
                continue
            for address in addresses:
                try:
                    try:
                        return await self._session(host, address, sender, recipients, data, tls=True)
                    except _TlsFailed as error:
                        log.info(
                            "STARTTLS with %s [%s] failed (%s); sending without TLS", host, address, error
                        )
                        return await self._session(host, address, sender, recipients, data, tls=False)
                except _HostFailed as failure:
                    last = failure.outcome
        return [last] * len(recipients)

    async def _session(
        self,
        host: str,
        address: str,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        *,
        tls: bool,
    ) -> list[Outcome]:
        smtp = self.settings.smtp
        client = aiosmtplib.SMTP(
            hostname=address,
            port=smtp.outbound_port,
            local_hostname=self.settings.hostname,
            timeout=smtp.outbound_timeout_seconds,
            start_tls=False,
        )
        try:
            await client.connect()
            await self._hello(client)
            if tls and client.supports_extension("starttls"):
                try:  # RFC 3207 §4.2: after TLS, everything learnt before is forgotten; say EHLO again
                    await client.starttls(server_hostname=host, tls_context=self._tls)
                    await self._hello(client)
                except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as error:
                    raise _TlsFailed(str(error)) from None
            return await self._transaction(client, host, sender, recipients, data)
        except aiosmtplib.SMTPResponseException as error:
            raise _HostFailed(_retry(from_reply(error.code, error.message, host))) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            status = "4.4.1" if isinstance(error, aiosmtplib.SMTPConnectError) else "4.4.2"
            raise _HostFailed(Outcome("retry", status, f"{host} [{address}]: {error}")) from None
        finally:
            client.close()

    @staticmethod
    async def _hello(client: aiosmtplib.SMTP) -> None:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:  # RFC 5321 §3.2: a server that refuses EHLO may know HELO
            await client.helo()

    async def _transaction(
        self,
        client: aiosmtplib.SMTP,
        host: str,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
    ) -> list[Outcome]:
        """MAIL, RCPT for each recipient, DATA (RFC 5321 §3.3); one outcome per recipient."""
        options = []
        if client.supports_extension("size"):
            options.append(f"SIZE={len(data)}")  # RFC 1870 §3
        if client.supports_extension("8bitmime") and not data.isascii():
            options.append("BODY=8BITMIME")  # RFC 6152 §3
        encoding = "ascii"
        if not all(a.isascii() for a in (sender, *recipients)):
            if not client.supports_extension("smtputf8"):  # RFC 6531 §3.2: never send UTF-8 unasked
                text = f"{host} does not accept non-ASCII addresses (no SMTPUTF8)"
                return [Outcome("failed", "5.6.7", text)] * len(recipients)
            options.append("SMTPUTF8")
            encoding = "utf-8"
        try:
            await client.mail(sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPSenderRefused as error:
            outcome = from_reply(error.code, error.message, host)
            if outcome.kind != "failed":
                raise _HostFailed(outcome) from None
            return [outcome] * len(recipients)
        outcomes: dict[str, Outcome] = {}
        for recipient in recipients:
            try:
                await client.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as error:
                outcomes[recipient] = from_reply(error.code, error.message, host)
            except ValueError as error:  # not an address that can go on a command line
                outcomes[recipient] = Outcome("failed", "5.1.3", str(error))
        accepted = [r for r in recipients if r not in outcomes]
        if accepted:
            try:
                reply = await client.data(data)
            except aiosmtplib.SMTPDataError as error:  # one reply for every accepted recipient
                result = from_reply(error.code, error.message, host)
            else:
                result = from_reply(reply.code, reply.message, host)
            outcomes.update(dict.fromkeys(accepted, result))
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()
        return [outcomes[r] for r in recipients]


def _retry(outcome: Outcome) -> Outcome:
    """A refusal before the transaction (greeting, EHLO) ends this host's turn; the next may accept."""
    if outcome.kind == "retry":
        return outcome
    return Outcome("retry", "4" + outcome.status[1:], outcome.diagnostic, outcome.remote_mta)
