"""Inbound verification end to end: DKIM, SPF and DMARC over a StaticResolver, the verdict that the
pipeline acts on (R3.2), and the Authentication-Results header it stores."""

from __future__ import annotations

import authres
import dkim as dkimpy
import pytest

from hopthu.smtp import dkim
from hopthu.smtp.authresults import Result
from hopthu.smtp.dns import StaticResolver
from hopthu.smtp.verify import Verdict, verify_inbound

OURS = ("cantho.gov.vn", "soctrang.gov.vn", "haugiang.gov.vn")
OUTSIDE_IP = "203.0.113.9"
SENDER_IP = "192.0.2.3"


@pytest.fixture(scope="module")
def key_pem(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("dkim") / "private.pem"
    dkim.generate_key(path)
    return dkim.load_key(path)


def message(author: str = "Lan <lan@example.com>", body: bytes = b"Xin chao.\r\n") -> bytes:
    return (
        f"From: {author}\r\n"
        "To: minh@cantho.gov.vn\r\n"
        "Subject: =?utf-8?b?VGjDtG5nIGLDoW8=?=\r\n"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        "Message-ID: <m1@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
    ).encode() + body


def signed(data: bytes, key_pem: bytes, domain: str = "example.com", selector: str = "s1") -> bytes:
    return dkim.sign(data, selector=selector, domain=domain, key_pem=key_pem) + data


def key_txt(key_pem: bytes, domain: str = "example.com", selector: str = "s1") -> dict[str, list[str]]:
    name, value = dkim.dns_record(key_pem, selector, domain)
    return {name: [value]}


async def verify(
    data: bytes,
    *,
    txt: dict[str, list[str]] | None = None,
    ip: str = SENDER_IP,
    mail_from: str = "bounce@example.com",
    **dns,
) -> Verdict:
    resolver = StaticResolver(txt_records=txt or {}, **dns)
    return await verify_inbound(
        data,
        client_ip=ip,
        helo="mx.example.com",
        mail_from=mail_from,
        resolver=resolver,
        authserv_id="mail.cantho.gov.vn",
        our_domains=OURS,
    )


SPF_EXAMPLE = {"example.com": [f"v=spf1 ip4:{SENDER_IP} -all"]}
DMARC_REJECT = {"_dmarc.example.com": ["v=DMARC1; p=reject; rua=mailto:d@example.com"]}


# DKIM


async def test_dkim_passes_when_the_key_is_published(key_pem: bytes) -> None:
    verdict = await verify(signed(message(), key_pem), txt=key_txt(key_pem))
    [signature] = verdict.dkim
    assert (signature.domain, signature.selector, signature.result) == ("example.com", "s1", Result.PASS)


async def test_dkim_fails_when_the_body_was_tampered_with(key_pem: bytes) -> None:
    data = signed(message(), key_pem).replace(b"Xin chao.", b"Xin chao!")
    verdict = await verify(data, txt=key_txt(key_pem))
    assert verdict.dkim[0].result is Result.FAIL
    assert "body hash" in verdict.dkim[0].reason


async def test_dkim_fails_when_a_signed_header_was_changed(key_pem: bytes) -> None:
    data = signed(message(), key_pem).replace(b"Subject: =?utf-8?b?VGjDtG5nIGLDoW8=?=", b"Subject: Hi")
    verdict = await verify(data, txt=key_txt(key_pem))
    assert verdict.dkim[0].result is Result.FAIL


async def test_dkim_fails_when_a_second_from_is_added(key_pem: bytes) -> None:
    data = signed(message(), key_pem)
    data = data.replace(b"\r\n\r\n", b"\r\nFrom: boss@example.com\r\n\r\n", 1)  # From is oversigned
    verdict = await verify(data, txt=key_txt(key_pem))
    assert verdict.dkim[0].result is Result.FAIL


async def test_dkim_without_a_published_key_is_a_permerror(key_pem: bytes) -> None:
    verdict = await verify(signed(message(), key_pem))
    assert verdict.dkim[0].result is Result.PERMERROR


async def test_dkim_key_lookup_failure_is_a_temperror(key_pem: bytes) -> None:
    data = signed(message(), key_pem)
    verdict = await verify(data, txt=key_txt(key_pem), failing=frozenset({"s1._domainkey.example.com"}))
    assert verdict.dkim[0].result is Result.TEMPERROR


async def test_a_signature_made_by_dkimpy_passes(key_pem: bytes) -> None:
    data = message()
    header = dkimpy.sign(data, b"s1", b"example.com", key_pem, canonicalize=(b"relaxed", b"simple"))
    verdict = await verify(header + data, txt=key_txt(key_pem))
    assert verdict.dkim[0].result is Result.PASS


async def test_every_signature_is_reported_top_first(key_pem: bytes) -> None:
    data = signed(signed(message(), key_pem), key_pem, domain="relay.example.net", selector="r")
    verdict = await verify(data, txt=key_txt(key_pem))
    assert [(s.domain, s.result) for s in verdict.dkim] == [
        ("relay.example.net", Result.PERMERROR),  # no key published for it
        ("example.com", Result.PASS),
    ]


async def test_unsigned_mail_has_no_dkim_results() -> None:
    verdict = await verify(message())
    assert verdict.dkim == ()
    assert b"dkim=none" in verdict.header


# SPF as the verdict carries it (the evaluator itself: test_spf.py)


async def test_spf_pass_and_fail_for_the_envelope_sender() -> None:
    assert (await verify(message(), txt=SPF_EXAMPLE)).spf.result is Result.PASS
    failed = await verify(message(), txt=SPF_EXAMPLE, ip=OUTSIDE_IP)
    assert (failed.spf.result, failed.spf.domain) == (Result.FAIL, "example.com")


async def test_spf_softfail_include_and_redirect() -> None:
    txt = {
        "example.com": ["v=spf1 include:_spf.example.net redirect=_rest.example.org"],
        "_spf.example.net": [f"v=spf1 ip4:{SENDER_IP} -all"],
        "_rest.example.org": ["v=spf1 ~all"],
    }
    assert (await verify(message(), txt=txt)).spf.result is Result.PASS
    assert (await verify(message(), txt=txt, ip=OUTSIDE_IP)).spf.result is Result.SOFTFAIL


async def test_spf_dns_failure_is_a_temperror_not_an_exception() -> None:
    verdict = await verify(message(), failing=frozenset({"example.com"}))
    assert verdict.spf.result is Result.TEMPERROR


# DMARC


async def test_dmarc_passes_by_relaxed_spf_alignment() -> None:
    txt = {"mail.example.com": [f"v=spf1 ip4:{SENDER_IP} -all"], **DMARC_REJECT}
    verdict = await verify(message(), txt=txt, mail_from="bounce@mail.example.com")
    assert verdict.dmarc.result is Result.PASS
    assert verdict.dmarc.spf_aligned and not verdict.dmarc.dkim_aligned


async def test_dmarc_strict_spf_alignment_needs_the_same_name() -> None:
    txt = {
        "mail.example.com": [f"v=spf1 ip4:{SENDER_IP} -all"],
        "_dmarc.example.com": ["v=DMARC1; p=reject; aspf=s"],
    }
    verdict = await verify(message(), txt=txt, mail_from="bounce@mail.example.com")
    assert verdict.spf.result is Result.PASS
    assert verdict.dmarc.result is Result.FAIL


async def test_dmarc_passes_by_dkim_alignment_when_spf_fails(key_pem: bytes) -> None:
    txt = {**SPF_EXAMPLE, **DMARC_REJECT, **key_txt(key_pem)}
    verdict = await verify(signed(message(), key_pem), txt=txt, ip=OUTSIDE_IP)
    assert verdict.spf.result is Result.FAIL
    assert verdict.dmarc.result is Result.PASS
    assert verdict.dmarc.dkim_aligned and not verdict.dmarc.spf_aligned


async def test_dkim_pass_for_another_domain_does_not_align(key_pem: bytes) -> None:
    txt = {**DMARC_REJECT, **key_txt(key_pem, domain="example.org")}
    verdict = await verify(signed(message(), key_pem, domain="example.org"), txt=txt)
    assert verdict.dkim[0].result is Result.PASS
    assert verdict.dmarc.result is Result.FAIL


async def test_dmarc_fails_with_the_published_reject_policy() -> None:
    verdict = await verify(message(), txt={**SPF_EXAMPLE, **DMARC_REJECT}, ip=OUTSIDE_IP)
    assert (verdict.dmarc.result, verdict.dmarc.policy, verdict.dmarc.from_domain) == (
        Result.FAIL,
        "reject",
        "example.com",
    )
    assert not verdict.forges_our_domain  # not our domain: the pipeline weighs the policy


async def test_dmarc_falls_back_to_the_organizational_domain() -> None:
    txt = {
        "news.example.com": [f"v=spf1 ip4:{SENDER_IP} -all"],
        "_dmarc.example.com": ["v=DMARC1; p=reject; sp=quarantine"],
    }
    author = "Tin <tin@news.example.com>"
    verdict = await verify(message(author), txt=txt, ip=OUTSIDE_IP, mail_from="b@news.example.com")
    assert (verdict.dmarc.result, verdict.dmarc.policy) == (Result.FAIL, "quarantine")  # sp= for subdomains
    passed = await verify(message(author), txt=txt, mail_from="b@news.example.com")
    assert passed.dmarc.result is Result.PASS


async def test_a_record_at_the_author_domain_wins_over_the_organizational_one() -> None:
    txt = {
        "_dmarc.news.example.com": ["v=DMARC1; p=none"],
        "_dmarc.example.com": ["v=DMARC1; p=reject"],
    }
    verdict = await verify(message("tin@news.example.com"), txt=txt, ip=OUTSIDE_IP)
    assert verdict.dmarc.policy == "none"


async def test_dmarc_without_a_record_is_none() -> None:
    verdict = await verify(message(), txt=SPF_EXAMPLE, ip=OUTSIDE_IP)
    assert (verdict.dmarc.result, verdict.dmarc.policy) == (Result.NONE, None)


async def test_dmarc_lookup_failure_is_a_temperror() -> None:
    verdict = await verify(message(), txt=SPF_EXAMPLE, failing=frozenset({"_dmarc.example.com"}))
    assert verdict.dmarc.result is Result.TEMPERROR


async def test_dmarc_is_temperror_when_an_aligned_check_could_not_finish() -> None:
    verdict = await verify(message(), txt=DMARC_REJECT, failing=frozenset({"example.com"}))
    assert verdict.spf.result is Result.TEMPERROR
    assert verdict.dmarc.result is Result.TEMPERROR


async def test_two_from_fields_are_a_dmarc_permerror() -> None:
    data = message().replace(b"To:", b"From: other@example.org\r\nTo:", 1)
    verdict = await verify(data, txt={**SPF_EXAMPLE, **DMARC_REJECT})
    assert verdict.dmarc.result is Result.PERMERROR


# R3.2: mail from outside that claims to be from us


async def test_r3_2_mail_from_our_domain_without_alignment_forges_it() -> None:
    verdict = await verify(message("Chủ tịch <chutich@cantho.gov.vn>"), ip=OUTSIDE_IP)
    assert verdict.forges_our_domain
    # No DMARC record of ours in this DNS: our own policy applies, reject.
    assert (verdict.dmarc.result, verdict.dmarc.policy) == (Result.FAIL, "reject")


@pytest.mark.parametrize("author", ["x@sonv.cantho.gov.vn", "x@CANTHO.GOV.VN", "x@soctrang.gov.vn"])
async def test_r3_2_subdomains_case_and_domain_aliases_are_ours(author: str) -> None:
    assert (await verify(message(author), ip=OUTSIDE_IP)).forges_our_domain


async def test_r3_2_spf_pass_for_another_domain_does_not_excuse_our_from() -> None:
    verdict = await verify(message("x@cantho.gov.vn"), txt=SPF_EXAMPLE)
    assert verdict.spf.result is Result.PASS
    assert verdict.forges_our_domain


async def test_r3_2_our_signature_aligns_and_is_not_a_forgery(key_pem: bytes) -> None:
    data = signed(message("minh@cantho.gov.vn"), key_pem, domain="cantho.gov.vn", selector="hopthu")
    verdict = await verify(data, txt=key_txt(key_pem, "cantho.gov.vn", "hopthu"), ip=OUTSIDE_IP)
    assert verdict.dmarc.result is Result.PASS
    assert not verdict.forges_our_domain


async def test_r3_2_spf_aligned_with_our_domain_is_not_a_forgery() -> None:
    txt = {"cantho.gov.vn": [f"v=spf1 ip4:{SENDER_IP} -all"]}
    verdict = await verify(message("minh@cantho.gov.vn"), txt=txt, mail_from="minh@cantho.gov.vn")
    assert not verdict.forges_our_domain


async def test_r3_2_a_published_p_none_does_not_let_forgeries_of_ours_through() -> None:
    txt = {"_dmarc.cantho.gov.vn": ["v=DMARC1; p=none"]}
    verdict = await verify(message("x@cantho.gov.vn"), txt=txt, ip=OUTSIDE_IP)
    assert verdict.forges_our_domain


async def test_r3_2_a_second_from_naming_us_is_a_forgery() -> None:
    data = message().replace(b"To:", b"From: chutich@cantho.gov.vn\r\nTo:", 1)
    verdict = await verify(data, txt={**SPF_EXAMPLE, **DMARC_REJECT})
    assert verdict.forges_our_domain


async def test_r3_2_other_domains_failing_dmarc_are_not_our_forgeries() -> None:
    verdict = await verify(message("x@cantho.gov.vn.example.com"), ip=OUTSIDE_IP)
    assert not verdict.forges_our_domain


async def test_r3_2_dns_failure_still_marks_the_forgery_and_says_temperror() -> None:
    verdict = await verify(
        message("x@cantho.gov.vn"), ip=OUTSIDE_IP, failing=frozenset({"_dmarc.cantho.gov.vn"})
    )
    assert verdict.forges_our_domain
    assert (verdict.dmarc.result, verdict.dmarc.policy) == (Result.TEMPERROR, "reject")


# The Authentication-Results header


async def test_header_names_us_and_every_result(key_pem: bytes) -> None:
    txt = {**SPF_EXAMPLE, **DMARC_REJECT, **key_txt(key_pem)}
    verdict = await verify(signed(message(), key_pem), txt=txt)
    assert verdict.header.startswith(b"Authentication-Results: mail.cantho.gov.vn;\r\n\t")
    assert verdict.header.endswith(b"\r\n") and b"\n" not in verdict.header.replace(b"\r\n\t", b"")[:-2]
    parsed = authres.AuthenticationResultsHeader.parse(verdict.header.decode())
    assert parsed.authserv_id == "mail.cantho.gov.vn"
    found = {
        r.method: (r.result, {f"{p.type}.{p.name}": p.value for p in r.properties}) for r in parsed.results
    }
    assert found == {
        "spf": ("pass", {"smtp.mailfrom": "bounce@example.com"}),
        "dkim": ("pass", {"header.d": "example.com", "header.s": "s1"}),
        "dmarc": ("pass", {"header.from": "example.com"}),
    }


async def test_header_uses_helo_for_the_null_sender() -> None:
    verdict = await verify(message(), mail_from="")
    assert b"smtp.helo=mx.example.com" in verdict.header


async def test_hostile_values_cannot_break_out_of_the_header() -> None:
    verdict = await verify(message(), mail_from='"x;\r\n dmarc=pass"@example.com')
    lines = verdict.header.split(b"\r\n")
    assert len(lines) == 5 and lines[-1] == b""  # first line, spf, dkim, dmarc
    parsed = authres.AuthenticationResultsHeader.parse(verdict.header.decode())
    assert [r.method for r in parsed.results] == ["spf", "dkim", "dmarc"]
    assert parsed.results[2].result == "none"


# R3.2: one reading of who sent it (mail.addresses); a header read two ways must not name us


@pytest.mark.parametrize(
    "author",
    [
        "lan@example.com <giamdoc@cantho.gov.vn>",  # a client shows giamdoc@, a lenient reader lan@
        '"giamdoc@cantho.gov.vn" <lan@example.com>',
        "=?utf-8?q?giamdoc=40soctrang.gov.vn?= <lan@example.com>",
        "lan@example.com (giamdoc@cantho.gov.vn)",
        "lan@example.com, giamdoc@haugiang.gov.vn",  # several authors and no Sender:
        '"unbalanced <giamdoc@cantho.gov.vn>',
    ],
)
async def test_r3_2_an_ambiguous_from_naming_us_is_a_forgery_even_when_aligned(author: str) -> None:
    verdict = await verify(message(author), txt={**SPF_EXAMPLE, **DMARC_REJECT})
    assert verdict.spf.result is Result.PASS  # example.com's own server sent it
    assert verdict.forges_our_domain
    assert verdict.dmarc.result is Result.PERMERROR and "ambiguous" in verdict.dmarc.reason


async def test_r3_2_an_ambiguous_reply_to_naming_us_is_a_forgery() -> None:
    data = message().replace(b"To:", b'Reply-To: "hotro@cantho.gov.vn" <x@example.com>\r\nTo:', 1)
    assert (await verify(data, txt={**SPF_EXAMPLE, **DMARC_REJECT})).forges_our_domain


@pytest.mark.parametrize(
    "author",
    [
        "lan@example.com <other@example.org>",
        "Pete(A wonderful \\) chap) <pete(his account)@example.com(his host)>",  # RFC 5322 A.5
        "garbage",
    ],
)
async def test_ambiguous_authors_from_outside_only_fail_dmarc(author: str) -> None:
    verdict = await verify(message(author), txt={**SPF_EXAMPLE, **DMARC_REJECT})
    assert not verdict.forges_our_domain
    assert verdict.dmarc.result is Result.PERMERROR


async def test_odd_but_valid_authors_are_judged_by_their_one_domain() -> None:
    data = message("Lan (phong HC) <lan@example.com>, hai@example.com").replace(
        b"To:", b"Sender: lan@example.com\r\nReply-To: Nhom:;\r\nTo:", 1
    )
    verdict = await verify(data, txt={**SPF_EXAMPLE, **DMARC_REJECT})
    assert (verdict.dmarc.result, verdict.dmarc.from_domain) == (Result.PASS, "example.com")
