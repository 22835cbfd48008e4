"""The Autodiscover request reader (`discovery.clientconfig.requested_address`), a parser of what
strangers send: any bytes give an address or a bilingual refusal, never another exception."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hopthu.discovery.clientconfig import MAX_AUTODISCOVER_BODY, AutodiscoverRefused, requested_address

REQUEST = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
    b"<Request><EMailAddress>nvminh@cantho.gov.vn</EMailAddress>"
    b"<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    b"</AcceptableResponseSchema></Request></Autodiscover>"
)


def test_outlooks_request_gives_its_address() -> None:
    assert requested_address(REQUEST) == "nvminh@cantho.gov.vn"
    # without the schema element too (older Outlook)
    bare = b"<Autodiscover><Request><EMailAddress> a@b </EMailAddress></Request></Autodiscover>"
    assert requested_address(bare) == "a@b"


def test_a_body_over_the_bound_is_refused_unread() -> None:
    try:
        requested_address(b"<" + b"a" * MAX_AUTODISCOVER_BODY + b"/>")
    except AutodiscoverRefused as refused:
        assert refused.code == "413" and str(MAX_AUTODISCOVER_BODY) in refused.en
    else:
        raise AssertionError("a body over the bound was read")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2048),
        st.integers(0, len(REQUEST)).map(lambda cut: REQUEST[:cut]),
        st.tuples(st.integers(0, len(REQUEST)), st.binary(max_size=64)).map(
            lambda t: REQUEST[: t[0]] + t[1] + REQUEST[t[0] :]
        ),
    )
)
@example(b'<?xml version="1.0" encoding="x-unheard-of"?><Autodiscover/>')  # a codec Python lacks
def test_any_bytes_give_an_address_or_a_refusal(body: bytes) -> None:
    try:
        address = requested_address(body)
    except AutodiscoverRefused as refused:
        assert refused.vi and refused.en
    else:
        assert isinstance(address, str) and address
