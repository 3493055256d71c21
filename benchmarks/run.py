"""Run every benchmark (`make bench`); each prints one JSON object. Takes about 6 minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_plan.py", "bench_plan_contended.py", "bench_startup.py", "bench_sync.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
