"""What `/metrics` reads at scrape time rather than counts: the state the process keeps anyway.

Two parts. `Samples` are what needs the database or the disk (the outbound queue's backlog, the
blob folder's and the database's sizes, the disk's free space, the certificate's end): refreshed
before a scrape is rendered, the quick ones at most once a second, the slow ones at most once per
`metrics.slow_seconds` and in a thread (walking a blob folder of millions of files takes seconds),
so a scraper asking every second costs the mail no more than one asking every minute. Concurrent
scrapes share one refresh. A failed measurement keeps the last value and says so in
`hopthu_store_up`; the scrape itself never fails for it.

`StateCollector` turns those and the listeners' own counters into metric families when the
registry is rendered: plain reads of numbers already kept (`ConnectionLimits`, each protocol's
command count, `LoopWatch`, the database pool), no query, no allocation per connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hopthu.store import queue

if TYPE_CHECKING:
    from hopthu.loopwatch import LoopWatch
    from hopthu.security.connections import ConnectionLimits
    from hopthu.store import Store

log = logging.getLogger("hopthu.metrics")

QUICK_SECONDS = 1.0  # the queue's backlog and the disk: at most this often, however often scraped
WARN_EVERY = 300.0  # seconds between two warnings that a measurement failed

# `ConnectionLimits.kind` -> the protocol label: the MX is "smtp", the web's listener "web".
PROTOCOL_OF = {"smtp": "smtp", "submission": "submission", "imap": "imap", "pop3": "pop3", "http": "web"}


@dataclass
class Measured:
    """The last values of the samples; None until first measured (the metric is left out)."""

    queue_waiting: int | None = None
    queue_oldest: dt.datetime | None = None
    store_up: bool = True
    disk_total: int | None = None
    disk_free: int | None = None
    blob_bytes: int | None = None
    database_bytes: int | None = None
    certificate_not_after: float | None = None  # a Unix time
    slow_seconds: float = 0.0  # how long the last slow measurement took


@dataclass
class Samples:
    """The measurements that need the database or the disk, taken when a scrape comes."""

    store: Store
    data_dir: Path
    certificate: Path
    slow_every: float
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    last: Measured = field(default_factory=Measured)
    _quick_at: float = float("-inf")
    _slow_at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _warned_at: float = float("-inf")

    async def refresh(self) -> Measured:
        async with self._lock:  # a second scrape meanwhile waits for this one's values
            if self.clock() - self._quick_at >= QUICK_SECONDS:
                await self._quick()
                self._quick_at = self.clock()
            if self.clock() - self._slow_at >= self.slow_every:
                await self._slow()
                self._slow_at = self.clock()
        return self.last

    async def _quick(self) -> None:
        try:
            self.last.queue_waiting, self.last.queue_oldest = await queue.backlog(self.store.db)
            self.last.store_up = True
        except Exception as error:
            self.last.store_up = False
            self._warn("the outbound queue", error)
        try:
            usage = await asyncio.to_thread(shutil.disk_usage, self.data_dir)
            self.last.disk_total, self.last.disk_free = usage.total, usage.free
        except OSError as error:
            self._warn("the data folder's disk", error)

    async def _slow(self) -> None:
        started = self.clock()
        try:
            self.last.blob_bytes = await asyncio.to_thread(self.store.blobs.disk_usage)
        except OSError as error:
            self._warn("the blob folder", error)
        try:
            self.last.database_bytes = await self.store.db.size_bytes()
        except Exception as error:
            self._warn("the database's size", error)
        self.last.certificate_not_after = await asyncio.to_thread(_not_after, self.certificate)
        self.last.slow_seconds = self.clock() - started

    def _warn(self, what: str, error: BaseException) -> None:
        if self.clock() - self._warned_at >= WARN_EVERY:
            self._warned_at = self.clock()
            log.warning("/metrics could not measure %s: %s", what, error)


def _not_after(path: Path) -> float | None:
    """When the certificate the listeners serve stops being valid; None without a readable one."""
    from cryptography import x509  # only for the scrape that reads the certificate

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    return certificate.not_valid_after_utc.timestamp()


@dataclass
class Sources:
    """What the collector reads: the server's own objects, given by the server that owns them."""

    connections: Mapping[str, ConnectionLimits]
    # protocol label -> the count of commands its sessions have run (HTTP: requests)
    commands: Mapping[str, Callable[[], int]]
    loopwatch: LoopWatch | None
    pool_use: Callable[[], tuple[int, int]]
    samples: Samples


class StateCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        sources = self.sources
        open_now = GaugeMetricFamily("hopthu_connections_open", "Connections open now", labels=["protocol"])
        admitted = CounterMetricFamily(
            "hopthu_connections", "Connections admitted since start", labels=["protocol"]
        )
        refused = CounterMetricFamily(
            "hopthu_connections_refused",
            "Connections refused at the connection limits since start",
            labels=["protocol"],
        )
        for limits in sources.connections.values():
            protocol = PROTOCOL_OF.get(limits.kind, limits.kind)
            open_now.add_metric([protocol], limits.total)
            admitted.add_metric([protocol], limits.admitted)
            refused.add_metric([protocol], limits.refused)
        yield from (open_now, admitted, refused)
        commands = CounterMetricFamily(
            "hopthu_commands", "Commands run since start (the web: requests)", labels=["protocol"]
        )
        for protocol, count in sources.commands.items():
            commands.add_metric([protocol], count())
        yield commands
        if sources.loopwatch is not None:
            watch = sources.loopwatch
            yield GaugeMetricFamily(
                "hopthu_event_loop_stall_seconds",
                "The longest the event loop was late within the last minute: every connection waited",
                value=watch.max_stall_ms() / 1000,
            )
            yield GaugeMetricFamily(
                "hopthu_event_loop_stall_max_seconds",
                "The longest the event loop was late since start",
                value=watch.worst_ms / 1000,
            )
        checked_out, size = sources.pool_use()
        yield GaugeMetricFamily(
            "hopthu_database_pool_checked_out", "Database connections in use now", value=checked_out
        )
        yield GaugeMetricFamily(
            "hopthu_database_pool_size", "Database connections the pool keeps", value=size
        )
        yield from _sampled(sources.samples.last, sources.samples.now())


def _sampled(last: Measured, now: dt.datetime) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "hopthu_store_up", "1 when the last look at the database succeeded", value=int(last.store_up)
    )
    if last.queue_waiting is not None:
        yield GaugeMetricFamily(
            "hopthu_queue_messages", "Items waiting in the outbound queue", value=last.queue_waiting
        )
        oldest = 0.0 if last.queue_oldest is None else max((now - last.queue_oldest).total_seconds(), 0)
        yield GaugeMetricFamily(
            "hopthu_queue_oldest_age_seconds",
            "How long the oldest waiting item of the outbound queue has waited (0 when empty)",
            value=oldest,
        )
    if last.disk_total is not None and last.disk_free is not None:
        yield GaugeMetricFamily(
            "hopthu_disk_size_bytes", "Size of the disk holding the data folder", value=last.disk_total
        )
        yield GaugeMetricFamily(
            "hopthu_disk_free_bytes", "Free space on the disk holding the data folder", value=last.disk_free
        )
    if last.blob_bytes is not None:
        yield GaugeMetricFamily(
            "hopthu_blob_bytes", "Size of the stored message bodies (compressed)", value=last.blob_bytes
        )
    if last.database_bytes is not None:
        yield GaugeMetricFamily("hopthu_database_bytes", "Size of the database", value=last.database_bytes)
    if last.certificate_not_after is not None:
        yield GaugeMetricFamily(
            "hopthu_tls_certificate_not_after_timestamp_seconds",
            "When the certificate the listeners serve expires (Unix time)",
            value=last.certificate_not_after,
        )
    yield GaugeMetricFamily(
        "hopthu_metrics_slow_measure_seconds",
        "How long the last measurement of sizes and the certificate took (in a thread)",
        value=last.slow_seconds,
    )
