"""The planner's timing loop, shared by `bench_plan.py` and `bench_plan_contended.py`."""

from __future__ import annotations

import datetime as dt
import gc
import time
from typing import Any

from iepsched.core.model import DistrictPlan
from iepsched.core.schedule import plan_district


def time_planner(
    district: Any, today: dt.date, repeat: int
) -> tuple[DistrictPlan, list[float], list[float], list[float]]:
    """(the last plan, wall times, CPU times, wall times without the cycle collector).

    The collector-off loop plans as `iepsched plan` does since issue 10.7: the collector would
    re-scan the long-lived roster and plans without freeing anything.
    """
    times: list[float] = []
    cpu: list[float] = []
    plan = None
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        plan = plan_district(district.students, district.ctx, today=today)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    quiet: list[float] = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        plan = plan_district(district.students, district.ctx, today=today)
        quiet.append(time.perf_counter() - t0)
        gc.enable()
    assert plan is not None
    return plan, times, cpu, quiet
