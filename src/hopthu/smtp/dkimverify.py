"""Checking the DKIM signatures of inbound mail (RFC 6376 §6), with every DNS question asked by us.

dkimpy does the canonicalization and the cryptography, but its `verify()` is synchronous and looks
the key up itself through a callback. So the key record each signature names is fetched first,
through the async `Resolver`, and dkimpy gets a callback that answers from those records only. The
hashing runs in a worker thread, so checking a 40 MB message does not stall the listeners.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import dkim
import dkim.util

from hopthu.smtp.authresults import Result
from hopthu.smtp.dns import DnsError, Resolver
from hopthu.smtp.spf import valid_domain

MAX_SIGNATURES = 10  # RFC 6376 §6.1: verifiers may limit how many signatures they check
MIN_KEY_BITS = 1024  # RFC 8301 §3.2: shorter RSA keys are not accepted
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_SIGNATURE_FIELD = re.compile(rb"(?:\A|\n)dkim-signature[ \t]*:", re.IGNORECASE)


@dataclass(frozen=True)
class DkimOutcome:
    domain: str  # d=
    selector: str  # s=
    result: Result
    reason: str = ""


@dataclass(frozen=True)
class _Signature:
    domain: str
    selector: str
    problem: str = ""  # why it cannot be checked at all (a permerror)

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"  # RFC 6376 §3.6.2.1


def _text(value: bytes | None) -> str:
    return (value or b"").decode("ascii", "replace").strip().lower()


def _read(data: bytes) -> tuple[dkim.DKIM | None, list[_Signature]]:
    """The message as dkimpy holds it, and what each DKIM-Signature field says (RFC 6376 §3.5)."""
    try:
        signer = dkim.DKIM(data, minkey=MIN_KEY_BITS)
    except dkim.MessageFormatError as error:
        return None, [_Signature("", "", f"unreadable header: {error}")]
    found: list[_Signature] = []
    for name, value in signer.headers:
        if name.lower() != b"dkim-signature":
            continue
        tags: dict[bytes, bytes] = {}
        try:
            tags = dkim.util.parse_tag_value(value)
            dkim.validate_signature_fields(tags)  # §6.1.1: the tags a verifier needs, and their form
            signature = _Signature(_text(tags[b"d"]), _text(tags[b"s"]))
            if not valid_domain(signature.key_name):
                signature = _Signature(signature.domain, signature.selector, "bad d= or s=")
        except (dkim.util.InvalidTagValueList, dkim.ValidationError) as error:
            signature = _Signature(_text(tags.get(b"d")), _text(tags.get(b"s")), str(error))
        found.append(signature)
    return signer, found[:MAX_SIGNATURES]


async def _key_records(names: set[str], resolver: Resolver) -> dict[str, list[str] | None]:
    """The TXT records at each key name; None where the DNS did not answer."""

    async def one(name: str) -> list[str] | None:
        try:
            return await resolver.txt(name)
        except DnsError:
            return None

    answers = await asyncio.gather(*(one(name) for name in names))
    return dict(zip(names, answers, strict=True))


def _usable_key(name: str, records: list[str]) -> bytes | str:
    """The first record that is a valid key (§3.6.1), or why none is."""
    problem = "no key record"
    for record in records:
        try:
            dkim.evaluate_pk(name, record.encode())
            return record.encode()
        except (dkim.DKIMException, ValueError) as error:
            problem = f"bad key record: {error}"
    return problem


def _check(
    signer: dkim.DKIM | None, index: int, signature: _Signature, keys: dict[str, list[str] | None]
) -> DkimOutcome:
    """One signature (§6.1.3), dkimpy answering its key question from `keys`."""

    def outcome(result: Result, reason: str = "") -> DkimOutcome:
        return DkimOutcome(signature.domain, signature.selector, result, reason)

    if signature.problem or signer is None:
        return outcome(Result.PERMERROR, signature.problem)
    records = keys[signature.key_name]
    if records is None:
        return outcome(Result.TEMPERROR, "key lookup failed")
    key = _usable_key(signature.key_name, records)
    if isinstance(key, str):
        return outcome(Result.PERMERROR, key)
    try:
        good = signer.verify(idx=index, dnsfunc=lambda _name, timeout=0: key)
    except dkim.ValidationError as error:  # the fields were checked before: this is the body hash
        return outcome(Result.FAIL, str(error))
    except dkim.DKIMException as error:
        return outcome(Result.PERMERROR, str(error))
    return outcome(Result.PASS) if good else outcome(Result.FAIL, "signature did not verify")


def _check_all(
    signer: dkim.DKIM | None, signatures: list[_Signature], keys: dict[str, list[str] | None]
) -> tuple[DkimOutcome, ...]:
    return tuple(_check(signer, index, signature, keys) for index, signature in enumerate(signatures))


def _signed(data: bytes) -> bool:
    header = _BLANK_LINE.search(data)
    return _SIGNATURE_FIELD.search(data, 0, header.start() if header else len(data)) is not None


async def check_signatures(data: bytes, resolver: Resolver) -> tuple[DkimOutcome, ...]:
    """One outcome per DKIM-Signature field, top first (at most MAX_SIGNATURES); () if unsigned."""
    if not _signed(data):
        return ()
    signer, signatures = await asyncio.to_thread(_read, data)
    names = {s.key_name for s in signatures if not s.problem}
    keys = await _key_records(names, resolver)
    return await asyncio.to_thread(_check_all, signer, signatures, keys)
