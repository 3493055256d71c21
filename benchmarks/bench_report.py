"""The coordinator's outputs for a large district: `report` and `plan --all` as whole processes.

Issue 8 item 11: a district of 100,000 students must be reportable in under 1 GB peak memory.
Runs `iepsched report --html --csv` and `iepsched plan --all --format csv` on a synthetic
district in child processes and reads each child's own peak RSS (os.wait4). Run as
`python benchmarks/bench_report.py [--students N]`; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import generate

TODAY = "2026-11-30"
IEPSCHED = Path(sys.executable).with_name("iepsched")


def measure(args: list[str]) -> dict[str, float | int]:
    """Wall time, peak RSS (MB) and exit code of one child process (its own rusage, via wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.stderr.write(stderr[-2000:])
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit": code,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = generate(Path(tmp), students=args.students)
        base = [str(IEPSCHED), "--config", str(config), "-q"]
        plan = measure([*base, "plan", "--all", "--format", "csv", "--today", TODAY])
        html = Path(tmp) / "report.html"
        csv = Path(tmp) / "compliance.csv"
        report = measure(
            [*base, "report", "--html", str(html), "--csv", str(csv), "--today", TODAY]
        )
        report["html_mb"] = round(html.stat().st_size / 2**20, 1) if html.exists() else 0
    print(
        json.dumps(
            {
                "benchmark": "report",
                "students": args.students,
                "plan_all": plan,
                "report": report,
                "load_average_1m": round(os.getloadavg()[0], 2),
                "targets": {"report_peak_rss_mb": 1024},
            }
        )
    )


if __name__ == "__main__":
    main()
