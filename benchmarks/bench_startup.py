"""`iepsched plan STUDENT` on the sample district beside `python -c "import click"`, same run.

Issue 2 target: within 2x. Each command runs `--runs` times; the best and median wall times are
reported (the best is the least disturbed by other load on the machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    python = sys.executable
    iepsched = shutil.which("iepsched", path=str(Path(python).parent)) or "iepsched"
    plan_cmd = [
        iepsched,
        "--config",
        "config/iepsched.toml",
        "plan",
        "S1001",
        "--today",
        "2026-11-30",
    ]
    timed(plan_cmd, 2)  # warm the OS caches for both
    click_times, plan_times = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        click_times += timed([python, "-c", "import click"], 1)
        plan_times += timed(plan_cmd, 1)
    best_ratio = min(plan_times) / min(click_times)
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "import_click_s_best": round(min(click_times), 4),
                "import_click_s_median": round(statistics.median(click_times), 4),
                "plan_student_s_best": round(min(plan_times), 4),
                "plan_student_s_median": round(statistics.median(plan_times), 4),
                "ratio_best": round(best_ratio, 2),
                "ratio_median": round(
                    statistics.median(plan_times) / statistics.median(click_times), 2
                ),
                "target_ratio": 2.0,
            }
        )
    )


if __name__ == "__main__":
    main()
