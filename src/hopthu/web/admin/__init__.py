"""The administration portal (R9, R10): the same app and stack as the webmail, under /quan-tri."""

from fastapi import APIRouter

from hopthu.web.admin import (
    accounts,
    agencies,
    auditlog,
    factor,
    home,
    jobs,
    maillog,
    reports,
    requests,
    tickets,
)

router = APIRouter()
for part in (factor, home, agencies, accounts, requests, tickets, reports, auditlog, maillog, jobs):
    router.include_router(part.router)
