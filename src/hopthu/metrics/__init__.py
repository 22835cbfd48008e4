"""What the operations team watches: `/metrics` for Prometheus (docs/monitoring.md).

- `meters.py`: the counters and histograms of events as they happen (messages and their outcomes,
  refusals by reason, deliveries and their latency, sign-ins, job runs). One `Meters` per server
  with a registry of its own, never prometheus_client's global one, so several servers in one
  process (the tests) count apart. It imports nothing from the project, so every room may count
  into it with one call; an object no server wired counts into `UNWIRED`, which nobody reads.
- `state.py`: what is read at scrape time instead of counted: open connections and commands per
  protocol (from the listeners' own counters), the event loop's stalls, the database pool, the
  outbound queue, and what is slow to measure (blob and database sizes, the disk, the certificate),
  measured in a thread at most once per `metrics.slow_seconds`.
- `listener.py`: the small HTTP responder on `metrics.listen`, apart from the web, that answers
  `GET /metrics` and little else.
"""
