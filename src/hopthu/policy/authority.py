"""Roles are not a ladder (R9, R10.4): who may act on the credentials of whom.

Helpdesk staff reset forgotten passwords of ordinary mailboxes. Had they the power over an
administrator's password too, a helpdesk member could reset an operator's password, sign in as the
operator and enrol a second factor of their own: the lower role would climb to the highest. So the
password of anyone holding an administrative role is reset only by an operator (or at the console).
"""

from __future__ import annotations

from collections.abc import Set

from hopthu.errors import HopThuError

ADMINISTRATIVE = frozenset({"operator", "helpdesk", "agency_manager", "auditor"})
"""Roles of the administration portal (`directory.roles.ROLES`)."""


def may_reset_password(actor_roles: Set[str], target_roles: Set[str]) -> bool:
    """Whether someone holding `actor_roles` may issue a temporary password to an account holding
    `target_roles`: an operator for anyone, the helpdesk for accounts without an administrative role."""
    if "operator" in actor_roles:
        return True
    return "helpdesk" in actor_roles and not (target_roles & ADMINISTRATIVE)


def check_password_reset(actor_roles: Set[str], target_roles: Set[str]) -> None:
    """`may_reset_password`, or the refusal in words a person reads."""
    if may_reset_password(actor_roles, target_roles):
        return
    if "helpdesk" in actor_roles:
        raise HopThuError(
            "Bộ phận hỗ trợ chỉ cấp lại mật khẩu cho hộp thư thông thường; mật khẩu của người có vai trò "
            "quản trị do quản trị viên vận hành cấp lại",
            "The helpdesk resets passwords of ordinary mailboxes only; an administrator's password is "
            "reset by an operator",
            code="forbidden",
        )
    raise HopThuError(
        "Chỉ quản trị viên vận hành hoặc bộ phận hỗ trợ được cấp lại mật khẩu",
        "Only an operator or the helpdesk may reset a password",
        code="forbidden",
    )
