"""Who may use the administration portal, and how far (R9, R10.4, R13.4): the `administering`
dependency of every portal page. It asks for the second factor before anything else, answers 403 to
people without a role, and to an auditor's every act (anything but reading a page: an auditor
changes nothing); each page then narrows what it shows with `Powers.covers`, and anything outside
the administrator's agencies is the app's one refusal page (`check_covers`, `filing.OutsideScope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from hopthu.directory.filing import OutsideScope
from hopthu.directory.roles import Powers, ReadsOnly
from hopthu.web.admin import outcome
from hopthu.web.auth import Redirect, SignedIn, back_here, signed_in
from hopthu.web.deps import services_of
from hopthu.web.forms import CheckedForm
from hopthu.web.templating import page

PORTAL = "/quan-tri"
ENROL = f"{PORTAL}/xac-thuc/dang-ky"
VERIFY = f"{PORTAL}/xac-thuc"
READING = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Admin:
    who: SignedIn
    powers: Powers

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return self.who.account.local


async def with_role(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> Admin:
    """A signed-in person holding a portal role, second factor proved or not (the factor pages)."""
    powers = await services_of(request).directory.roles.powers(who.account.id)
    if not powers.administers:
        raise HTTPException(403)
    return Admin(who, powers)


async def administering(request: Request, admin: Annotated[Admin, Depends(with_role)]) -> Admin:
    if admin.who.session.second_factor_at is None:
        factors = services_of(request).directory.factors
        target = VERIFY if await factors.confirmed(admin.who.account.id) else ENROL
        raise Redirect(f"{target}?next={back_here(request)}")
    if admin.powers.reads_only and request.method not in READING:
        raise ReadsOnly()
    return admin


async def operating(admin: Annotated[Admin, Depends(administering)]) -> Admin:
    """Pages and acts for the operator's administrators only."""
    if not admin.powers.operator:
        raise HTTPException(403)
    return admin


# The portal's forms: the administrator first (403 for anyone else), then the form's CSRF token
# (`deps.checked_form`, the same signed-in person, read once).


async def role_form(admin: Annotated[Admin, Depends(with_role)], _form: CheckedForm) -> Admin:
    return admin


async def administering_form(admin: Annotated[Admin, Depends(administering)], _form: CheckedForm) -> Admin:
    return admin


async def operating_form(admin: Annotated[Admin, Depends(operating)], _form: CheckedForm) -> Admin:
    return admin


RoleForm = Annotated[Admin, Depends(role_form)]
AdminForm = Annotated[Admin, Depends(administering_form)]
OperatorForm = Annotated[Admin, Depends(operating_form)]


def check_covers(admin: Admin, agency_id: int) -> None:
    """An account, agency or request outside the administrator's agencies: the app's 403 page, the
    same for every such case (`filing.OutsideScope`)."""
    if not admin.powers.covers(agency_id):
        raise OutsideScope()


def admin_page(request: Request, admin: Admin, template: str, **context: Any) -> HTMLResponse:
    """A portal page: `templating.page` with the administrator's powers, which the menu follows, and
    what the form that redirected here did (`outcome`), said once."""
    arrived = outcome.taken(request, admin.who)
    if arrived is not None:
        context["done"] = context.get("done") or arrived.done
        context["password"] = context.get("password") or arrived.password
    response = page(request, template, who=admin.who, powers=admin.powers, **context)
    if outcome.waiting(request):
        outcome.forget(request, response)
    return response
