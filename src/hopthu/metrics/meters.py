"""Counters and histograms of what happens, counted where it happens with one call.

Every label takes its values from a fixed set named here or in the code that counts (a channel, an
outcome, a refusal reason of `smtp.outcome.Reason`, a sign-in result of `directory.auth.Refusal`, a
job's name): never an address, a host or a text a client sent, so the number of series is bounded
whatever arrives. Their children are made once, at the start, so every series is there with 0 from
the first scrape (`rate()` and `increase()` need the zero) and the hot paths only look one up.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

if TYPE_CHECKING:
    from hopthu.smtp.outcome import Outcome

# No `_created` series beside every counter: they double the text of a scrape and no rule here
# reads them (Prometheus takes a counter's restarts from its drops). prometheus_client's own switch.
disable_created_metrics()

CHANNELS = ("mx", "submission", "web", "system")  # `smtp.pipeline.Incoming.channel`
OUTCOMES = ("accepted", "refused", "held", "tempfail")  # `smtp.outcome.Kind`
SIGNIN_PROTOCOLS = ("submission", "imap", "pop3", "web", "carddav")
LOCAL_RESULTS = ("stored", "refused")  # into a mailbox here, or refused there (its quota)
REMOTE_RESULTS = ("queued", "sent", "deferred", "bounced")  # the outbound queue's steps
OTHER = "other"  # a value outside the fixed set, should the code ever pass one

# Local delivery takes milliseconds, remote from seconds to the queue's five days of retries.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
    300.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 5 * 24 * 3600.0,
)  # fmt: skip


class Meters:
    """The event metrics of one server, in its own registry (`registry`, which `/metrics` renders)."""

    def __init__(self, *, reasons: Iterable[str] = (), signin_results: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        messages = Counter(
            "hopthu_messages",
            "Messages the delivery pipeline was given, by channel and outcome",
            ["channel", "outcome"],
            registry=registry,
        )
        refusals = Counter(
            "hopthu_refusals",
            "Messages not accepted (refused, held or deferred), by the reason given to the sender",
            ["reason"],
            registry=registry,
        )
        deliveries = Counter(
            "hopthu_deliveries",
            "Deliveries per recipient: local (stored, refused) and remote (queued, sent, deferred, bounced)",
            ["destination", "result"],
            registry=registry,
        )
        latency = Histogram(
            "hopthu_delivery_latency_seconds",
            "Local: from the message's arrival at the pipeline to its commit; "
            "remote: from its queueing to the remote server's acceptance",
            ["destination"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._signins = Counter(
            "hopthu_signins",
            "Sign-in attempts by protocol and result (success or the refusal's reason)",
            ["protocol", "result"],
            registry=registry,
        )
        self._jobs = Counter(
            "hopthu_job_runs",
            "Runs of the scheduled jobs by name and status (ok, failed)",
            ["job", "status"],
            registry=registry,
        )
        self._message_family = messages
        self._messages = {(c, o): messages.labels(c, o) for c in CHANNELS for o in OUTCOMES}
        self._refusals = {reason: refusals.labels(reason) for reason in reasons}
        self._refusal_family = refusals
        self._local = {r: deliveries.labels("local", r) for r in LOCAL_RESULTS}
        self._remote = {r: deliveries.labels("remote", r) for r in REMOTE_RESULTS}
        self._local_latency = latency.labels("local")
        self._remote_latency = latency.labels("remote")
        for protocol in SIGNIN_PROTOCOLS:
            for result in signin_results:
                self._signins.labels(protocol, result)
        self._known_protocols = frozenset(SIGNIN_PROTOCOLS)
        self._known_results = frozenset(signin_results)

    @classmethod
    def for_server(cls) -> Meters:
        """Meters whose refusal reasons and sign-in results are there from the start."""
        from hopthu.directory.auth import Refusal  # here, not above: those modules count into this one
        from hopthu.smtp.outcome import Reason

        return cls(
            reasons=[reason.value for reason in Reason],
            signin_results=["success", *(refusal.value for refusal in Refusal)],
        )

    def know_jobs(self, names: Iterable[str]) -> None:
        for name in names:
            for status in ("ok", "failed"):
                self._jobs.labels(name, status)

    # --- counted where it happens -------------------------------------------------------------

    def message(self, channel: str, said: Outcome, started: float) -> Outcome:
        """One message through the pipeline (`started`: `time.monotonic()` at its arrival); returns
        the outcome so the pipeline can count and answer in one statement."""
        counted = self._messages.get((channel, said.kind.value))
        if counted is None:  # a channel outside `CHANNELS`: counted apart, under one label
            counted = self._message_family.labels(OTHER, said.kind.value)
        counted.inc()
        if said.reason is not None:
            self._refused(said.reason.value)
            return said
        stored = refused = queued = 0
        for delivered in said.delivered:
            if delivered.queue_id is not None:
                queued += 1
            elif delivered.refused is not None:
                refused += 1
            elif delivered.uid is not None:
                stored += 1
        if stored:
            self._local["stored"].inc(stored)
            self._local_latency.observe(time.monotonic() - started)
        if refused:
            self._local["refused"].inc(refused)
        if queued:
            self._remote["queued"].inc(queued)
        return said

    def _refused(self, reason: str) -> None:
        child = self._refusals.get(reason)
        if child is None:  # a reason added to `Reason` after these meters were made: still bounded
            child = self._refusals[reason] = self._refusal_family.labels(reason)
        child.inc()

    def outbound_settled(self, rows: Sequence[Any], statuses: Sequence[str], now: dt.datetime) -> None:
        """One attempt of the outbound queue: each row (`created_at`) and its new status
        (`store.queue.Attempted.status`: delivered, bounced, or queued again)."""
        for row, status in zip(rows, statuses, strict=True):
            if status == "delivered":
                self._remote["sent"].inc()
                self._remote_latency.observe(max((now - row.created_at).total_seconds(), 0.0))
            elif status == "bounced":
                self._remote["bounced"].inc()
            else:
                self._remote["deferred"].inc()

    def signed_in(self, protocol: str, result: str) -> None:
        """One sign-in attempt: `result` is "success" or a `directory.auth.Refusal` value."""
        if protocol in self._known_protocols and result in self._known_results:
            self._signins.labels(protocol, result).inc()
        else:
            self._signins.labels(OTHER, OTHER).inc()

    def job_ran(self, name: str, status: str) -> None:
        self._jobs.labels(name, status).inc()


UNWIRED = Meters()
"""Where objects no server wired count (a pipeline a test built alone): a registry nobody reads."""
