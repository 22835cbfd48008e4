"""SPF (RFC 7208) over a StaticResolver: each mechanism, the modifiers, macros and the limits."""

from __future__ import annotations

import ipaddress

import pytest

from hopthu.smtp.authresults import Result
from hopthu.smtp.dns import StaticResolver
from hopthu.smtp.spf import check_host, expand_macros


async def spf(
    txt: dict[str, list[str]], ip: str = "192.0.2.3", sender: str = "a@example.com", **dns
) -> Result:
    resolver = StaticResolver(txt_records=txt, **dns)
    return (await check_host(ip, sender, helo="mx.example.net", resolver=resolver)).result


# RFC 7208 §7.4, sender strong-bad@email.example.com, client 192.0.2.3 or 2001:db8::cb01
MACRO_EXAMPLES = [
    ("%{s}", "strong-bad@email.example.com"),
    ("%{o}", "email.example.com"),
    ("%{d}", "email.example.com"),
    ("%{d4}", "email.example.com"),
    ("%{d3}", "email.example.com"),
    ("%{d2}", "example.com"),
    ("%{d1}", "com"),
    ("%{dr}", "com.example.email"),
    ("%{d2r}", "example.email"),
    ("%{l}", "strong-bad"),
    ("%{l-}", "strong.bad"),
    ("%{lr}", "strong-bad"),
    ("%{lr-}", "bad.strong"),
    ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
    ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
    ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
    ("%{h}.x.example", "mx.example.net.x.example"),
    ("%{S}", "strong-bad%40email.example.com"),
    ("a%%b%_c%-d.example", "a%b c%20d.example"),
]


@pytest.mark.parametrize(("spec", "expected"), MACRO_EXAMPLES)
def test_macro_expansion_matches_rfc_7208_examples(spec: str, expected: str) -> None:
    ip = ipaddress.ip_address("192.0.2.3")
    expanded = expand_macros(
        spec, sender="strong-bad@email.example.com", domain="email.example.com", ip=ip, helo="mx.example.net"
    )
    assert expanded == expected


def test_ipv6_macro_is_dotted_nibbles_reversed() -> None:
    ip = ipaddress.ip_address("2001:db8::cb01")
    expanded = expand_macros(
        "%{ir}.%{v}._spf.%{d2}", sender="x@email.example.com", domain="email.example.com", ip=ip, helo="h"
    )
    assert expanded == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"


def test_long_expansion_is_truncated_on_the_left() -> None:
    ip = ipaddress.ip_address("192.0.2.3")
    local = ".".join(["abcdefghij"] * 30)
    expanded = expand_macros("%{l}.example.com", sender=f"{local}@x.org", domain="x.org", ip=ip, helo="h")
    assert len(expanded) <= 253
    assert expanded.endswith("abcdefghij.example.com")


async def test_pass_by_ip4_and_fail_by_all() -> None:
    record = {"example.com": ["v=spf1 ip4:192.0.2.0/24 -all"]}
    assert await spf(record) is Result.PASS
    assert await spf(record, ip="198.51.100.7") is Result.FAIL


async def test_softfail_and_neutral_qualifiers() -> None:
    assert await spf({"example.com": ["v=spf1 ~all"]}) is Result.SOFTFAIL
    assert await spf({"example.com": ["v=spf1 ?all"]}) is Result.NEUTRAL
    assert await spf({"example.com": ["v=spf1 ip4:10.0.0.1"]}) is Result.NEUTRAL  # §4.7: no match


async def test_no_record_is_none_and_other_txt_records_are_ignored() -> None:
    assert await spf({}) is Result.NONE
    assert await spf({"example.com": ["google-site-verification=abc", "v=spf10 -all"]}) is Result.NONE


async def test_two_spf_records_are_a_permerror() -> None:
    assert await spf({"example.com": ["v=spf1 -all", "v=spf1 +all"]}) is Result.PERMERROR


async def test_ip6_and_ipv4_mapped_client() -> None:
    record = {"example.com": ["v=spf1 ip6:2001:db8::/32 ip4:192.0.2.3 -all"]}
    assert await spf(record, ip="2001:db8::cb01") is Result.PASS
    assert await spf(record, ip="2001:db9::1") is Result.FAIL
    assert await spf(record, ip="::ffff:192.0.2.3") is Result.PASS  # §5: treated as IPv4


async def test_include_passes_only_on_the_included_pass() -> None:
    txt = {
        "example.com": ["v=spf1 include:_spf.provider.net -all"],
        "_spf.provider.net": ["v=spf1 ip4:192.0.2.0/24 ~all"],
    }
    assert await spf(txt) is Result.PASS
    # The included ~all does not match (§5.2): evaluation goes on to our -all.
    assert await spf(txt, ip="198.51.100.1") is Result.FAIL


async def test_include_of_a_domain_without_record_is_a_permerror() -> None:
    assert await spf({"example.com": ["v=spf1 include:nothing.example.org -all"]}) is Result.PERMERROR


async def test_redirect_uses_the_other_domains_record() -> None:
    txt = {
        "example.com": ["v=spf1 redirect=_spf.example.org"],
        "_spf.example.org": ["v=spf1 ip4:192.0.2.3 -all"],
    }
    assert await spf(txt) is Result.PASS
    assert await spf(txt, ip="192.0.2.4") is Result.FAIL
    assert await spf({"example.com": ["v=spf1 redirect=none.example.org"]}) is Result.PERMERROR  # §6.1


async def test_a_and_mx_with_prefix_lengths() -> None:
    txt = {"example.com": ["v=spf1 a/24 mx:mail.example.net -all"]}
    dns = {
        "address_records": {"example.com": ["192.0.2.200"], "mx1.example.net": ["198.51.100.9"]},
        "mx_records": {"mail.example.net": [(10, "mx1.example.net")]},
    }
    assert await spf(txt, **dns) is Result.PASS  # 192.0.2.3 is in 192.0.2.200/24
    assert await spf(txt, ip="198.51.100.9", **dns) is Result.PASS  # the MX host
    assert await spf(txt, ip="198.51.100.10", **dns) is Result.FAIL


async def test_exists_with_macros() -> None:
    txt = {"example.com": ["v=spf1 exists:%{ir}.%{l}._spf.%{d} -all"]}
    dns = {"address_records": {"3.2.0.192.a._spf.example.com": ["127.0.0.2"]}}
    assert await spf(txt, **dns) is Result.PASS
    assert await spf(txt, sender="b@example.com", **dns) is Result.FAIL


async def test_ptr_needs_a_validated_name() -> None:
    txt = {"example.com": ["v=spf1 ptr -all"]}
    good = {
        "ptr_records": {"192.0.2.3": ["mail.example.com"]},
        "address_records": {"mail.example.com": ["192.0.2.3"]},
    }
    assert await spf(txt, **good) is Result.PASS
    # The reverse name claims example.com but does not resolve back to the client.
    forged = {"ptr_records": {"192.0.2.3": ["mail.example.com"]}}
    assert await spf(txt, **forged) is Result.FAIL


def _include_chain(length: int) -> dict[str, list[str]]:
    """example.com includes d1, which includes d2 … up to d<length>, which passes everyone."""
    txt = {"example.com": ["v=spf1 include:d1.example.com -all"]}
    txt |= {f"d{i}.example.com": [f"v=spf1 include:d{i + 1}.example.com"] for i in range(1, length)}
    txt[f"d{length}.example.com"] = ["v=spf1 +all"]
    return txt


async def test_ten_dns_lookups_are_allowed_and_the_eleventh_is_a_permerror() -> None:
    assert await spf(_include_chain(10)) is Result.PASS
    assert await spf(_include_chain(11)) is Result.PERMERROR


async def test_an_include_loop_ends_in_permerror() -> None:
    assert await spf({"example.com": ["v=spf1 include:example.com -all"]}) is Result.PERMERROR


async def test_more_than_two_void_lookups_is_a_permerror() -> None:
    two = {"example.com": ["v=spf1 a:n1.example.com a:n2.example.com ip4:192.0.2.3 -all"]}
    assert await spf(two) is Result.PASS
    three = {"example.com": ["v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com ip4:192.0.2.3"]}
    assert await spf(three) is Result.PERMERROR


async def test_dns_failure_is_a_temperror() -> None:
    assert await spf({}, failing=frozenset({"example.com"})) is Result.TEMPERROR
    txt = {"example.com": ["v=spf1 include:_spf.provider.net -all"]}
    assert await spf(txt, failing=frozenset({"_spf.provider.net"})) is Result.TEMPERROR


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 foo:bar -all",  # unknown mechanism
        "v=spf1 ip4:192.0.2.300 -all",
        "v=spf1 ip4:192.0.2.0/33",
        "v=spf1 ip6:2001:db8::/129",
        "v=spf1 a:example.com/024",  # leading zero
        "v=spf1 include -all",
        "v=spf1 all:x",
        "v=spf1 redirect=a.example.com redirect=b.example.com",
        "v=spf1 exists:%{c}.example.com",  # c only in exp
        "v=spf1 exists:%{d0}.example.com",  # a digit transformer must not be 0
        "v=spf1 a:nodot",
        "v=spf1 -all ip4:1.2.3.4/",
    ],
)
async def test_syntax_errors_are_permerrors(record: str) -> None:
    assert await spf({"example.com": [record]}) is Result.PERMERROR


async def test_unknown_modifiers_are_ignored() -> None:
    assert await spf({"example.com": ["v=spf1 moo=cow.%{d} ip4:192.0.2.3 -all"]}) is Result.PASS


async def test_null_sender_checks_the_helo_name() -> None:
    resolver = StaticResolver(txt_records={"mx.example.net": ["v=spf1 ip4:192.0.2.3 -all"]})
    outcome = await check_host("192.0.2.3", "", helo="mx.example.net", resolver=resolver)
    assert (outcome.result, outcome.domain) == (Result.PASS, "mx.example.net")


async def test_malformed_domain_is_none() -> None:
    resolver = StaticResolver()
    outcome = await check_host("192.0.2.3", "", helo="[192.0.2.3]", resolver=resolver)
    assert outcome.result is Result.NONE
