"""R3.2: mail from outside claiming our domains (`policy.forgery`), domains and DMARC's answers as
parameters. That the MX acts on it: tests/smtp/test_mx.py, tests/smtp/test_verify.py."""

import pytest

from hopthu.policy.forgery import ForgeryAnswer, forgery_answer, forges_our_domain, is_ours

OURS = ("cantho.gov.vn", "haugiang.gov.vn")  # the main domain and a former province's (R13.7)


@pytest.mark.parametrize(
    ("domain", "ours"),
    [
        ("cantho.gov.vn", True),
        ("sonv.cantho.gov.vn", True),
        ("haugiang.gov.vn", True),
        ("notcantho.gov.vn", False),  # not a subdomain, only the same ending
        ("cantho.gov.vn.example.org", False),
        ("gov.vn", False),
    ],
)
def test_our_domains_are_the_main_one_its_aliases_and_under_them(domain: str, ours: bool) -> None:
    assert is_ours(domain, OURS) is ours


def test_r3_2_claiming_us_without_alignment_forges_us() -> None:
    assert forges_our_domain(claims_ours=True, aligned=False)
    assert not forges_our_domain(claims_ours=True, aligned=True)
    assert not forges_our_domain(claims_ours=False, aligned=False)  # others' DMARC is their policy


def test_a_forgery_is_refused_unless_the_dns_failed() -> None:
    assert forgery_answer(dns_failed=False) is ForgeryAnswer.REFUSE
    assert forgery_answer(dns_failed=True) is ForgeryAnswer.TRY_LATER
