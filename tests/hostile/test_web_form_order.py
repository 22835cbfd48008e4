"""A form's CSRF check is one dependency (`web.forms`), and the order of the checks is part of what
a stranger learns: who is not signed in is sent to sign in, who holds no portal role is refused
with 403, and only then is a stale or forged form answered 400, with nothing changed."""

from __future__ import annotations

import httpx
import pytest

from tests.hostile.conftest import Served
from tests.hostile.test_web_state import PLAIN_URL, Visitor


@pytest.mark.parametrize("serve_env", [PLAIN_URL])
def test_sign_in_then_role_then_form(served: Served) -> None:
    with httpx.Client(base_url=served.http, follow_redirects=False, timeout=30) as stranger:
        signed_out = stranger.post("/thu-muc", data={"ten": "Hồ sơ", "csrf": "forged"})
        assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/dang-nhap")

    person = Visitor(served)
    person.sign_in(served.account())
    portal = person.client.post("/quan-tri/yeu-cau/xem-truoc", data={"csrf": "forged"})
    assert portal.status_code == 403  # no portal role: refused before the form is looked at

    for path in ("/thu-muc", "/dang-xuat", "/phien/ket-thuc-tat-ca"):
        forged = person.client.post(path, data={"ten": "Hồ sơ", "csrf": "forged"})
        assert forged.status_code == 400 and "Biểu mẫu đã hết hạn" in forged.text, path
    assert "Hồ sơ" not in person.folder_names()  # and still signed in: no session was ended

    assert served.alive()
