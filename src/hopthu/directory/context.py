"""What every directory service needs: the store, the settings, a clock, the password verifier and
the access log's buffer (one per process: sign-ins and API calls write to it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hopthu.config import Settings
from hopthu.directory.accesslog import AccessLog
from hopthu.policy.quota import QuotaRules
from hopthu.security.passwords import PasswordVerifier
from hopthu.store import Store
from hopthu.store.mailstore import Clock, utcnow


@dataclass
class DirectoryContext:
    store: Store
    settings: Settings
    clock: Clock = utcnow
    verifier: PasswordVerifier = field(default_factory=PasswordVerifier)
    access_log: AccessLog = field(init=False)

    def __post_init__(self) -> None:
        self.access_log = AccessLog(self.store.db, self.now)

    def now(self) -> dt.datetime:
        return self.clock()

    @property
    def quota_rules(self) -> QuotaRules:
        p = self.settings.policy
        return QuotaRules(
            personal_max=p.personal_quota,
            agency_min=p.agency_quota,
            attachment_max=p.attachment_max,
            warn_percents=p.quota_warn_percents,
        )
