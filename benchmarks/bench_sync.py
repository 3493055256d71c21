"""Sync 2,000 students into the Graph sandbox with 20 ms latency per request (issue 3).

Reports, in one run:
* initial sync: HTTP requests beside the lower bound (writes / 20 + the reads that are needed),
  wall time;
* a naive baseline: one request per item, sequentially (measured on a slice of the items and
  scaled to all of them — the whole baseline would take ~15 minutes; `--full-naive` runs it all);
* a no-op re-sync: requests, writes (target 0) and time;
* the same initial sync with 15% injected faults (429, 503, dropped connections): exit code,
  duplicates, and whether the final state equals the fault-free one.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import generate

from iepsched.cli.sync_cmd import sync_once
from iepsched.core.items import desired_items
from iepsched.core.remote import KEY_PROPERTY_ID
from iepsched.core.settings import GraphSettings, StateSettings
from iepsched.inputs.config import load_config
from iepsched.m365.auth import make_token_provider
from iepsched.m365.graph import GraphClient
from iepsched.m365.graphremote import GraphRemote
from iepsched.service.district import District, load_district, plan_with_state
from iepsched.state.store import StateStore

TODAY = dt.date(2026, 11, 30)
TENANT = "sandbox-tenant"


class ProcessSandbox:
    """`iepsched sandbox serve` in its own process: like Graph, it does not share the client's
    interpreter (in-process, its CPU work and the client's would queue on one GIL)."""

    def __init__(self, *, latency_ms: int, fault_rate: float = 0.0, seed: int = 0) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        exe = Path(sys.executable).with_name("iepsched")
        self.proc = subprocess.Popen(
            [
                str(exe),
                "sandbox",
                "serve",
                "--port",
                str(self.port),
                "--latency-ms",
                str(latency_ms),
                "--fault-rate",
                str(fault_rate),
                "--seed",
                str(seed),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.graph_url = f"{self.base_url}/v1.0"
        self.authority = f"{self.base_url}/{TENANT}"
        for _ in range(200):
            try:
                self._get("/_sandbox/stats")
                break
            except OSError:
                time.sleep(0.05)

    def _get(self, path: str) -> Any:
        import urllib.request

        with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return dict(self._get("/_sandbox/stats"))

    def dump(self) -> dict[str, Any]:
        return dict(self._get("/_sandbox/dump"))

    def reset_stats(self) -> None:
        import urllib.request

        req = urllib.request.Request(self.base_url + "/_sandbox/reset_stats", method="POST")
        urllib.request.urlopen(req, timeout=30).close()

    def __enter__(self) -> ProcessSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _client(sb: ProcessSandbox, tz: str) -> GraphClient:
    tokens = make_token_provider(
        GraphSettings(
            tenant_id=TENANT, client_id="bench", authority=sb.authority, endpoint=sb.graph_url
        ),
        client_secret="bench",
    )
    return GraphClient(endpoint=sb.graph_url, tokens=tokens, timezone=tz, backoff_cap=2.0)


def _district(folder: Path, students: int, state: Path) -> District:
    config = load_config(generate(folder, students=students, seed=3))
    config = dataclasses.replace(config, state=StateSettings(path=state))
    return load_district(config)


def _keys(dump: dict[str, Any]) -> Counter[str]:
    """Item keys present in the sandbox (events by key property, tasks by linked resource)."""
    found: Counter[str] = Counter()
    for mailbox in dump["mailboxes"].values():
        for event in mailbox.get("events", []):
            for prop in event.get("singleValueExtendedProperties") or []:
                if prop.get("id", "").lower() == KEY_PROPERTY_ID.lower():  # not the installation
                    found[prop["value"]] += 1
        for task in mailbox.get("tasks", []):
            for link in task.get("linkedResources") or []:
                if link.get("applicationName") == "iepsched":
                    found[link["externalId"]] += 1
    return found


def _sync(
    district: District, sb: ProcessSandbox, state: Path
) -> tuple[float, dict[str, Any], int, GraphClient]:
    client = _client(sb, district.config.district.timezone)
    remote = GraphRemote(
        client,
        timezone=district.config.district.timezone,
        todo_list_name=district.config.delivery.todo_list_name,
        installation=district.config.district.installation,
    )
    sb.reset_stats()
    t0 = time.perf_counter()
    with StateStore(state) as store:
        report = sync_once(district, store, remote, today=TODAY)
    elapsed = time.perf_counter() - t0
    return elapsed, sb.stats(), report.exit_code, client


def _lower_bound(stats: dict[str, Any], mailboxes: int, schedule_items: int) -> int:
    """writes / 20, plus per mailbox one events page and one To Do lists read, plus the
    getSchedule items in envelopes of 20."""
    return math.ceil(stats["writes"] / 20) + 2 * mailboxes + math.ceil(schedule_items / 20)


def naive_baseline(district: District, latency_ms: int, sample: int | None) -> dict[str, Any]:
    """One request per item, sequentially, no batching (what a simple script would do)."""
    desired = desired_items(
        plan_with_state(district, today=TODAY).plans, district.delivery_options()
    )
    items = desired if sample is None else desired[:sample]
    with ProcessSandbox(latency_ms=latency_ms, seed=5) as sb:
        client = _client(sb, district.config.district.timezone)
        lists: dict[str, str] = {}
        t0 = time.perf_counter()
        for item in items:
            body = {**item.fields, **item.create_extra}
            if item.kind in ("event", "calendar_item"):
                client.request("POST", f"/users/{item.mailbox}/events", json=body, idempotent=True)
                continue
            if item.mailbox not in lists:
                created = client.post(
                    f"/users/{item.mailbox}/todo/lists", json={"displayName": "IEP deadlines"}
                )
                lists[item.mailbox] = created["id"]
            client.post(f"/users/{item.mailbox}/todo/lists/{lists[item.mailbox]}/tasks", json=body)
        elapsed = time.perf_counter() - t0
        stats = sb.stats()
        client.close()
    scale = len(desired) / len(items)
    return {
        "items_total": len(desired),
        "items_measured": len(items),
        "requests_measured": stats["http_requests"],
        "seconds_measured": round(elapsed, 2),
        "seconds_for_all_items": round(elapsed * scale, 1),
        "requests_for_all_items": round(stats["http_requests"] * scale),
        "extrapolated": sample is not None and sample < len(desired),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--naive-sample", type=int, default=2000)
    parser.add_argument("--full-naive", action="store_true")
    parser.add_argument("--fault-rate", type=float, default=0.15)
    args = parser.parse_args()
    out: dict[str, Any] = {
        "benchmark": "sync",
        "students": args.students,
        "latency_ms": args.latency_ms,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        district = _district(root / "d", args.students, root / "clean.sqlite")
        mailboxes = len({s.case_manager_email for s in district.students})
        with ProcessSandbox(latency_ms=args.latency_ms, seed=1) as sb:
            elapsed, stats, code, client = _sync(district, sb, root / "clean.sqlite")
            schedule_items = client.stats.batch_items - stats["writes"]
            client.close()
            bound = _lower_bound(stats, mailboxes, max(0, schedule_items))
            clean = _keys(sb.dump())
            out["initial"] = {
                "exit_code": code,
                "seconds": round(elapsed, 2),
                "http_requests": stats["http_requests"],
                "writes": stats["writes"],
                "mailboxes": mailboxes,
                "lower_bound_requests": bound,
                "requests_over_bound": round(stats["http_requests"] / bound, 3),
                "throttled": stats["throttled"],
            }
            elapsed2, stats2, code2, client2 = _sync(district, sb, root / "clean.sqlite")
            client2.close()
            out["noop_resync"] = {
                "exit_code": code2,
                "seconds": round(elapsed2, 2),
                "http_requests": stats2["http_requests"],
                "writes": stats2["writes"],
            }
        sample = None if args.full_naive else args.naive_sample
        out["naive"] = naive_baseline(district, args.latency_ms, sample)
        out["speedup_vs_naive"] = round(out["naive"]["seconds_for_all_items"] / elapsed, 1)

        faulty = _district(root / "f", args.students, root / "faulty.sqlite")
        with ProcessSandbox(latency_ms=args.latency_ms, fault_rate=args.fault_rate, seed=2) as sb:
            elapsed3, stats3, code3, client3 = _sync(faulty, sb, root / "faulty.sqlite")
            client3.close()
            keys = _keys(sb.dump())
            out["faults"] = {
                "fault_rate": args.fault_rate,
                "exit_code": code3,
                "seconds": round(elapsed3, 2),
                "http_requests": stats3["http_requests"],
                "faults": stats3.get("faults"),
                "throttled": stats3["throttled"],
                "duplicates": sum(1 for n in keys.values() if n > 1),
                "same_items_as_fault_free": set(keys) == set(clean),
            }
    out["targets"] = {"requests_over_bound": 1.1, "speedup_vs_naive": 10, "noop_writes": 0}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
