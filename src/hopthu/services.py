"""What a running process shares between its listeners and workers: the store, the directory, the
settings and the engines, built once by `hopthu serve` (`server.Server.start`).

It lives apart from the server so that the web pages can name its type (`web.deps.services_of`)
without importing the process that serves them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator
from hopthu.directory.routing import Router
from hopthu.directory.service import Directory
from hopthu.directory.websessions import WebSessions
from hopthu.importing.service import MigrationService
from hopthu.jobs.scheduler import Scheduler
from hopthu.loopwatch import LoopWatch
from hopthu.metrics.meters import UNWIRED, Meters
from hopthu.protection.quarantine import Quarantine
from hopthu.protection.rspamd import Rspamd
from hopthu.protection.status import EngineStatus
from hopthu.security.connections import ConnectionLimits
from hopthu.smtp.limits import SendingLimits
from hopthu.smtp.pipeline import Pipeline
from hopthu.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    directory: Directory
    router: Router
    authenticator: Authenticator
    pipeline: Pipeline
    web_sessions: WebSessions
    limits: SendingLimits | None = None  # R3.1, shared by submission and the webmail
    scheduler: Scheduler | None = None  # the jobs of the regulation's clock
    loopwatch: LoopWatch | None = None  # how late the event loop wakes (/healthz)
    connections: dict[str, ConnectionLimits] = dataclasses.field(default_factory=dict)
    # Spam scoring and malware scanning: the rspamd client (for learning from the webmail) and
    # whether each engine is on, off or failing (/healthz, the portal).
    rspamd: Rspamd | None = None
    engines: EngineStatus | None = None
    quarantine: Quarantine | None = None  # outbound spam held for the operators (R3.1)
    # The port each listener is bound to, by role ("imaps", "submission", …): what mail programs are
    # told to use (`discovery.endpoints`), port 0 of the settings resolved.
    ports: dict[str, int] = dataclasses.field(default_factory=dict)
    meters: Meters = UNWIRED  # the process's counters for /metrics (`metrics.meters`)
    # Mailboxes brought from the former provinces' servers, started from the portal (R13.7)
    migration: MigrationService | None = None
