"""The administration portal (R9, R10): the same app and stack as the webmail, under /quan-tri."""

from fastapi import APIRouter

from hopthu.web.admin import (
    accounts,
    agencies,
    auditlog,
    dmarc,
    factor,
    home,
    jobs,
    maillog,
    quarantine,
    reports,
    requests,
    tickets,
)

router = APIRouter()
PARTS = (
    factor,
    home,
    agencies,
    accounts,
    requests,
    tickets,
    reports,
    auditlog,
    maillog,
    quarantine,
    jobs,
    dmarc,
)
for part in PARTS:
    router.include_router(part.router)
