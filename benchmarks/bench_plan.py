"""Plan 10,000 students: wall time and peak memory (issue 2 targets: <= 1.0 s, <= 200 MB).

Run as `python benchmarks/bench_plan.py [--students N]`; prints one JSON object. Peak RSS is the
whole process (interpreter, imports, roster and plans), read from getrusage after planning.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plantiming import time_planner
from synth import generate

from iepsched.inputs.config import load_config
from iepsched.service.district import load_district

TODAY = dt.date(2026, 11, 30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_path = generate(Path(tmp), students=args.students)
        t0 = time.perf_counter()
        district = load_district(load_config(config_path))
        load_s = time.perf_counter() - t0
        plan, times, cpu, quiet = time_planner(district, TODAY, args.repeat)
        milestones = sum(len(p.milestones) for p in plan.plans)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        statuses: dict[str, int] = {}
        for p in plan.plans:
            statuses[p.status] = statuses.get(p.status, 0) + 1
    print(
        json.dumps(
            {
                "benchmark": "plan",
                "students": len(plan.plans),
                "milestones": milestones,
                "load_roster_calendars_s": round(load_s, 3),
                "plan_s_best": round(min(times), 3),
                "plan_s_median": round(sorted(times)[len(times) // 2], 3),
                "plan_cpu_s_best": round(min(cpu), 3),
                "plan_s_best_collector_off": round(min(quiet), 3),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "peak_rss_mb": round(peak_mb, 1),
                "statuses": statuses,
                "targets": {"plan_s": 1.0, "peak_rss_mb": 200},
            }
        )
    )


if __name__ == "__main__":
    main()
