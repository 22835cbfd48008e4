"""`python -m fuzz` (what `make fuzz` runs): every harness, its share of the inputs, on 2 workers.

    FUZZ_INPUTS=1000000 python -m fuzz [--workers 2] [--seed 0] [--budget 1.0] [--targets imap_parser,...]
                                       [--minutes M]   (or FUZZ_WORKERS, FUZZ_SEED, FUZZ_MINUTES)

Prints per-target counts and the total, saves each finding under fuzz/findings/<target>/, and exits
1 when there is any crash or hang. The same seed replays the same inputs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from fuzz import engine

TARGETS = (
    "imap_parser",
    "smtp_commands",
    "pop3_commands",
    "mime_scanner",
    "header_parsers",
    "html_sanitiser",
)
# Share of the inputs per target: the cheap pure parsers get more, whole sessions and messages fewer.
WEIGHTS = {
    "imap_parser": 3,
    "smtp_commands": 1,
    "pop3_commands": 2,
    "mime_scanner": 1,
    "header_parsers": 2,
    "html_sanitiser": 1,
}


def load(name: str) -> engine.Target:
    """The Target of module `fuzz.<name>` (forked workers call this too)."""
    if name not in TARGETS:
        raise SystemExit(f"unknown target {name}; known: {', '.join(TARGETS)}")
    return importlib.import_module(f"fuzz.{name}").target()


def plan(total: int, names: list[str]) -> dict[str, int]:
    weights = sum(WEIGHTS[n] for n in names)
    shares = {n: total * WEIGHTS[n] // weights for n in names}
    shares[names[0]] += total - sum(shares.values())
    return shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=int(os.environ.get("FUZZ_INPUTS", "1000000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("FUZZ_WORKERS", "2")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "0")))
    parser.add_argument("--budget", type=float, default=engine.BUDGET, help="seconds per input before a hang")
    parser.add_argument("--targets", default=",".join(TARGETS))
    minutes = os.environ.get("FUZZ_MINUTES")
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(minutes) if minutes else None,
        help="start no new batch of inputs after this long (the count run is printed)",
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    for name in names:
        load(name)  # fail early on a bad name, and import everything before forking
    shares = plan(args.inputs, names)
    print(
        f"fuzzing {args.inputs} inputs over {len(names)} targets, {args.workers} workers, seed {args.seed}",
        flush=True,
    )
    started = time.monotonic()
    results = engine.run_parallel(
        load,
        shares,
        workers=args.workers,
        seed=args.seed,
        budget=args.budget,
        minutes=args.minutes,
        report=lambda text: print(text, flush=True),
    )
    elapsed = time.monotonic() - started
    total = engine.Stats()
    for name in names:
        stats = results[name]
        total.add(stats)
        print(f"  {name:16} {stats.inputs:9d} inputs {stats.crashes:6d} crashes {stats.hangs:5d} hangs")
        for finding in stats.findings:
            path = engine.save(finding)
            last = finding.detail.strip().splitlines()[-1] if finding.detail.strip() else ""
            print(f"      {finding.kind}: {os.path.relpath(path)}  {last[:150]}")
    rate = total.inputs / elapsed if elapsed else 0.0
    print(
        f"total: {total.inputs} inputs in {elapsed:.0f} s ({rate:.0f}/s), "
        f"{total.crashes} crashes, {total.hangs} hangs, {len(total.findings)} distinct findings"
    )
    return 1 if total.crashes or total.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
