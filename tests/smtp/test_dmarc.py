"""DMARC records (RFC 7489 §6.3), policy discovery (§6.6.3) and organizational domains (§3.2)."""

from __future__ import annotations

import time

import pytest

from hopthu.smtp.authresults import Result
from hopthu.smtp.dmarc import DmarcRecord, aligned, evaluate, parse_record
from hopthu.smtp.dns import StaticResolver
from hopthu.smtp.orgdomain import organizational_domain


@pytest.mark.parametrize(
    ("domain", "organizational"),
    [
        ("cantho.gov.vn", "cantho.gov.vn"),
        ("mail.sonv.cantho.gov.vn", "cantho.gov.vn"),
        ("gov.vn", "gov.vn"),  # a public suffix stands for itself
        ("x.example.co.uk", "example.co.uk"),
        ("Mail.Example.COM.", "example.com"),
        ("a.b.internal-name.test", "internal-name.test"),  # not on the list: the default rule "*"
        ("www.ck", "www.ck"),  # the exception rule !www.ck
        ("a.b.ck", "a.b.ck"),  # the wildcard rule *.ck
        ("x.bücher.example.de", "example.de"),
        ("thư.chínhphủ.vn", "xn--chnhph-4va0152d.vn"),  # as A-labels
    ],
)
def test_organizational_domain_follows_the_public_suffix_list(domain: str, organizational: str) -> None:
    assert organizational_domain(domain) == organizational


def test_alignment_modes() -> None:
    assert aligned("bounce.example.com", "example.com", "r")
    assert not aligned("bounce.example.com", "example.com", "s")
    assert aligned("example.com", "example.com", "s")
    assert not aligned("example.co.uk", "other.co.uk", "r")


def test_record_tags() -> None:
    assert parse_record("v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=50") == DmarcRecord(
        "quarantine", "reject", "s", "r"
    )
    assert parse_record("v=DMARC1;p=REJECT;foo=bar") == DmarcRecord("reject")  # unknown tags ignored
    assert parse_record(" v = DMARC1 ;\tp = none \n") == DmarcRecord("none")


def test_a_sender_s_record_of_spaces_is_read_in_linear_time() -> None:
    """A sender's own DNS decides this text: 16,000 spaces inside a tag took 4 s on the event loop."""
    started = time.perf_counter()
    record = parse_record("v=DMARC1; p=reject; rua=x" + " " * 60_000 + "y")
    assert time.perf_counter() - started < 1.0
    assert record == DmarcRecord("reject")


async def judge(txt: dict[str, list[str]], from_domain: str = "example.com") -> Result:
    outcome = await evaluate(
        from_domain,
        spf=(Result.FAIL, "example.com"),
        dkim=[],
        resolver=StaticResolver(txt_records=txt),
        our_domains=("cantho.gov.vn",),
    )
    return outcome.result


async def test_a_record_with_reports_but_no_valid_policy_acts_as_none() -> None:
    # §6.6.3 step 6: a bad p= with a rua= is read as p=none; still evaluated, so the result is fail.
    assert await judge({"_dmarc.example.com": ["v=DMARC1; p=block; rua=mailto:r@example.com"]}) is Result.FAIL


async def test_a_record_without_a_valid_policy_is_a_permerror() -> None:
    assert await judge({"_dmarc.example.com": ["v=DMARC1; p=block"]}) is Result.PERMERROR
    assert await judge({"_dmarc.example.com": ["v=DMARC1; p=reject; adkim=x"]}) is Result.PERMERROR


async def test_two_records_or_a_wrong_version_mean_no_policy() -> None:
    two = {"_dmarc.example.com": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]}
    assert await judge(two) is Result.NONE
    assert await judge({"_dmarc.example.com": ["v=DMARC2; p=reject", "p=reject"]}) is Result.NONE
