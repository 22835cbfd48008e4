"""Erasing a person's data on a lawful request (R13.6, Luật Bảo vệ dữ liệu cá nhân 91/2025): what
the request must carry and when it must wait. The act itself is `directory.personaldata`.

- The legal basis (the request, the decision, the article it rests on) is written down: without it
  nothing is erased, since an erasure cannot be undone.
- An account holding an administrative role is refused until its roles are withdrawn: erasing the
  person would otherwise leave a role the audit can no longer put a name to, and might take away
  the last operator.
- The audit entries stay (R13.4: kept 12 months, a legal obligation of their own); the erasure is
  recorded among them.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Final

from hopthu.errors import HopThuError

BASIS_MAX: Final = 2000
ERASED_NAME: Final = "Dữ liệu cá nhân đã xóa"  # the tombstone's display name


def check_erasure(basis: str, roles: Set[str]) -> str:
    """The basis as it is recorded, or a refusal saying what is missing."""
    basis = " ".join(basis.split())
    if not basis:
        raise HopThuError(
            "Cần ghi căn cứ pháp lý của yêu cầu xóa dữ liệu cá nhân (văn bản, điều khoản).",
            "The legal basis of the erasure request (document, article) is required.",
            code="basis_required",
        )
    if len(basis) > BASIS_MAX:
        raise HopThuError(
            f"Căn cứ pháp lý dài quá {BASIS_MAX} ký tự.",
            f"The legal basis is longer than {BASIS_MAX} characters.",
            code="basis_too_long",
        )
    if roles:
        held = ", ".join(sorted(roles))
        raise HopThuError(
            f"Hộp thư đang giữ quyền quản trị ({held}): hãy thu hồi các quyền này trước khi xóa dữ liệu.",
            f"The account holds administrative roles ({held}): withdraw them before erasing its data.",
            code="holds_roles",
        )
    return basis
