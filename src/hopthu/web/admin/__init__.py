"""The administration portal (R9, R10): the same app and stack as the webmail, under /quan-tri."""

from fastapi import APIRouter

from hopthu.web.admin import (
    accesslog,
    accounts,
    agencies,
    auditlog,
    auditnames,
    dmarc,
    factor,
    former,
    home,
    jobs,
    maillog,
    migration,
    privacy,
    quarantine,
    reports,
    requests,
    roles,
    tickets,
)
from hopthu.web.templating import TEMPLATES

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
    accesslog,
    quarantine,
    jobs,
    dmarc,
    privacy,
    roles,
    former,
    migration,
)
for part in PARTS:
    router.include_router(part.router)

# How the portal's pages name the audit log's codes (`admin/auditnames.py`).
TEMPLATES.env.filters["act_name"] = auditnames.action_name
TEMPLATES.env.filters["target_name"] = auditnames.target_name
TEMPLATES.env.filters["reason_name"] = auditnames.reason_name
TEMPLATES.env.filters["details_text"] = auditnames.details_text
TEMPLATES.env.filters["request_fields"] = auditnames.request_fields
