"""Prove it for a year (issue 8): a seeded district synced every school night, August to June.

Each night seeded random events change the roster, the calendars and the mailboxes (see
`yearsim.EVENT_KINDS`), the network misbehaves, a run is killed mid-way, once the state file is
lost and once a mailbox wiped; after every `iepsched sync --today NIGHT` the invariants are
checked (no duplicates, meetings at the planned time, people's changes kept, nothing cancelled by
a spoiled export, the contact log complete). Prints one JSON object; exits 1 on any violation.

    .venv/bin/python benchmarks/school_year.py                      # the whole year, 500 students
    .venv/bin/python benchmarks/school_year.py --nights 20 --students 60 --off state_lost
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from yearsim import EVENT_KINDS, KNOWN_DEFECTS, YearOptions, parse_events, run_year


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--per-case-manager", type=int, default=25)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--nights", type=int, default=None, help="stop after N school nights")
    parser.add_argument(
        "--stop-after", type=int, default=None, help="stop after N nights of the whole year"
    )
    parser.add_argument("--first-night", default="2026-08-13")
    parser.add_argument("--last-night", default="2027-06-04")
    parser.add_argument("--rate", type=float, default=1.0, help="scales every event probability")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument(
        "--only", action="append", metavar="KIND", help=f"event kinds to inject: {EVENT_KINDS}"
    )
    parser.add_argument("--off", action="append", default=[], metavar="KIND")
    parser.add_argument("--keep", metavar="DIR", help="simulate in DIR and keep it")
    args = parser.parse_args(argv)
    options = YearOptions(
        students=args.students,
        per_case_manager=args.per_case_manager,
        seed=args.seed,
        first_night=dt.date.fromisoformat(args.first_night),
        last_night=dt.date.fromisoformat(args.last_night),
        max_nights=args.nights,
        stop_after=args.stop_after,
        events=parse_events(args.only, args.off),
        rate=args.rate,
        fault_rate=args.fault_rate,
        latency_ms=args.latency_ms,
    )
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        out = run_year(Path(args.keep), options)
    else:
        with tempfile.TemporaryDirectory(prefix="iepsched-year-") as tmp:
            out = run_year(Path(tmp), options)
    out["known_defects"] = {k: v for k, v in KNOWN_DEFECTS.items() if k in options.events}
    print(json.dumps(out, indent=2))
    return 1 if out["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
