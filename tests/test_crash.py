"""Crash safety and fault tolerance of `iepsched sync` against the Graph sandbox (SPEC §5).

`iepsched sync` runs as a real subprocess whose [graph] endpoint and authority point at a sandbox
served by this test process, so the test can watch the sandbox's write counter, SIGKILL the run
mid-way, inject throttling and faults, and compare what Microsoft 365 ends up holding.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sync import SAMPLE, World, dump_items, live_items

from iepsched.core.items import desired_items
from iepsched.inputs.config import load_config
from iepsched.m365.graphremote import parse_datetime
from iepsched.sandbox import GraphSandbox
from iepsched.service.district import load_district, plan_with_state
from iepsched.state.store import StateStore

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 11, 30)
EXE = str(Path(sys.executable).parent / "iepsched")
# Fields whose values Graph keeps as sent (up to its own rendering, the same in every run).
TIMES = ("start", "end", "dueDateTime", "reminderDateTime")


def make_config(root: Path, sb: GraphSandbox) -> Path:
    """The sample district in `root`, its [graph] pointed at the sandbox."""
    shutil.copytree(SAMPLE, root / "config", ignore=shutil.ignore_patterns("state", "*.sqlite*"))
    toml = root / "config" / "iepsched.toml"
    text = toml.read_text(encoding="utf-8")
    endpoint = 'endpoint = "https://graph.microsoft.com/v1.0"'
    assert endpoint in text
    toml.write_text(
        text.replace(
            endpoint,
            f'tenant_id = "{sb.tenant_id}"\nclient_id = "iepsched-tests"\n'
            f'authority = "{sb.authority}"\nendpoint = "{sb.graph_url}"',
        ),
        encoding="utf-8",
    )
    return toml


def env() -> dict[str, str]:
    return {**os.environ, "IEPSCHED_CLIENT_SECRET": "x", "IEPSCHED_CONFIG": ""}


def sync_cmd(toml: Path) -> list[str]:
    return [EXE, "--config", str(toml), "sync", "--today", TODAY.isoformat(), "--format", "json"]


def run_sync(toml: Path, *, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """Run `iepsched sync` to the end; its exit code and JSON report."""
    done = subprocess.run(
        sync_cmd(toml), env=env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    return done.returncode, json.loads(done.stdout)


def kill_after(toml: Path, sb: GraphSandbox, writes: int, *, timeout: float = 120) -> None:
    """Start `iepsched sync` and SIGKILL it as soon as the sandbox has applied `writes` writes."""
    start = sb.stats()["writes"]
    proc = subprocess.Popen(
        sync_cmd(toml), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if sb.stats()["writes"] - start >= writes:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.001)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the run ended by itself ({proc.returncode})"


def desired(toml: Path) -> dict[str, set[str]]:
    """Key -> managed field names, for everything the plan (with the state) wants delivered."""
    config = load_config(toml)
    district = load_district(config)
    with StateStore(config.state_path) as store:
        plan = plan_with_state(district, today=TODAY, store=store)
    return {i.key: set(i.fields) for i in desired_items(plan.plans, district.delivery_options())}


def normal(name: str, value: Any) -> Any:
    """A managed field as compared between runs (instants for times; attendees without answers)."""
    if name in TIMES and isinstance(value, dict):
        when = parse_datetime(value)
        return when.isoformat() if when else value
    if name == "attendees":
        return sorted((a["emailAddress"]["address"].lower(), a["type"]) for a in value)
    if name == "body" and isinstance(value, dict):
        return value.get("content")
    return value


def delivered(sb: GraphSandbox, fields: dict[str, set[str]]) -> dict[str, dict[str, Any]]:
    """Key -> managed fields of every live iepsched item in the sandbox; asserts no duplicates."""
    found = live_items(dump_items(sb.dump()))
    dupes = {k: n for k, n in Counter(k for k, _ in found).items() if n > 1}
    assert dupes == {}, f"duplicates: {dupes}"
    return {
        key: {n: normal(n, obj.get(n)) for n in sorted(fields.get(key, ()))} for key, obj in found
    }


def assert_no_write(toml: Path, sb: GraphSandbox) -> None:
    before = sb.stats()
    code, report = run_sync(toml)
    after = sb.stats()
    assert code == 0, report
    assert report["actions"] == []
    assert after["writes"] - before["writes"] == 0
    assert after["write_requests"] - before["write_requests"] == 0


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox(latency_ms=20, seed=5) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """What a fault-free, crash-free run delivers (keys and managed fields)."""
    with GraphSandbox(seed=5) as sandbox:
        toml = make_config(tmp_path_factory.mktemp("reference"), sandbox)
        code, report = run_sync(toml)
        assert code == 0, report
        fields = desired(toml)
        found = delivered(sandbox, fields)
        assert set(found) == set(fields)
        return found


@pytest.mark.parametrize("writes", [10, 100])  # 7 To Do lists come first
def test_sigkill_mid_run_then_rerun_converges(
    writes: int, tmp_path: Path, sb: GraphSandbox, reference: dict[str, dict[str, Any]]
) -> None:
    """A run SIGKILLed mid-way, then re-run: no duplicates, nothing missing, then quiet."""
    toml = make_config(tmp_path, sb)
    kill_after(toml, sb, writes)
    config = load_config(toml)
    with StateStore(config.state_path) as store:
        states = Counter(st.state for st in store.items().values())
        store.lock()  # the dead run's lock went with it
    assert states["pending"] > 0, states  # killed with writes in flight, not after
    assert sb.stats()["writes"] < len(reference) + 10

    code, report = run_sync(toml)
    assert code == 0, report["failures"]
    assert report["counts"].get("recovered", 0) > 0
    fields = desired(toml)
    assert set(fields) == set(reference)
    assert delivered(sb, fields) == reference
    with StateStore(config.state_path) as store:
        assert {st.state for st in store.items().values()} == {"live"}
    assert_no_write(toml, sb)


def test_killed_while_reading_then_rerun(tmp_path: Path, sb: GraphSandbox) -> None:
    """A run killed before its first write leaves nothing half-done; the re-run delivers all."""
    toml = make_config(tmp_path, sb)
    proc = subprocess.Popen(
        sync_cmd(toml), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while sb.stats()["reads"] == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert sb.stats()["writes"] == 0
    code, report = run_sync(toml)
    assert code == 0, report["failures"]
    fields = desired(toml)
    assert set(delivered(sb, fields)) == set(fields)
    assert_no_write(toml, sb)


def test_throttling_storm_then_ok(
    tmp_path: Path, sb: GraphSandbox, reference: dict[str, dict[str, Any]]
) -> None:
    """Every request throttled (429, Retry-After) for a while, then served: the run ends 0."""
    toml = make_config(tmp_path, sb)
    stop = threading.Event()

    def storm() -> None:
        # Everything is throttled from the run's first request until a second later (the client
        # honours each Retry-After, 0.05-1 s here, 8 attempts: a budget of seconds).
        while sb.stats()["faults"]["429"] == 0 and not stop.wait(0.005):
            pass
        stop.wait(1.0)
        sb.set_faults(0.0)

    sb.set_faults(1.0, ["429"])
    weather = threading.Thread(target=storm)
    weather.start()
    try:
        code, report = run_sync(toml)
    finally:
        stop.set()
        weather.join()
        sb.set_faults(0.0)
    assert sb.stats()["faults"]["429"] >= 10
    assert code == 0, report["failures"]
    assert delivered(sb, desired(toml)) == reference
    assert_no_write(toml, sb)


@pytest.mark.parametrize("seed", [1, 2])
def test_mixed_faults_reach_the_fault_free_state(
    seed: int, tmp_path: Path, reference: dict[str, dict[str, Any]]
) -> None:
    """15% of requests answered 429, 503 or dropped: same final state, no duplicates, exit 0."""
    # In-process, with a short client backoff: a dropped $batch envelope is retried with
    # exponential backoff, which at this fault rate makes a CLI run take 10-30 s.
    with GraphSandbox(latency_ms=2, seed=seed, max_retry_after=0.3) as sandbox:
        world = World(
            tmp_path,
            "graph",
            sandbox=sandbox,
            client_options={"backoff_base": 0.02, "backoff_cap": 0.5},
        )
        try:
            sandbox.set_faults(0.15)
            report = world.sync()
            faults = sandbox.stats()["faults"]
            sandbox.set_faults(0.0)
            assert faults["429"] and faults["503"] and faults["drop"], faults
            assert report.exit_code == 0, report.failures
            assert delivered(sandbox, desired(world.config_path)) == reference
            again = world.sync()
            assert again.actions == [] and world.last_attempts == 0
        finally:
            world.close()


@pytest.mark.parametrize("trouble", ["wrong secret", "throttled too long"])
def test_graph_refusals_end_the_run_cleanly(trouble: str, tmp_path: Path) -> None:
    """Auth refused or throttled for too long: a message saying what to do, no traceback.

    Regression: the GraphError escaped `iepsched sync` as a traceback with exit 1.
    """
    secret = "the-right-one" if trouble == "wrong secret" else None
    with GraphSandbox(client_secret=secret, max_retry_after=0.05) as sandbox:
        toml = make_config(tmp_path, sandbox)
        if trouble == "throttled too long":
            sandbox.set_faults(1.0, ["429"])
        done = subprocess.run(
            sync_cmd(toml), env=env(), capture_output=True, text=True, timeout=120
        )
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    assert done.returncode not in (0, 1)  # 1 would say "some items failed"
    assert "error:" in done.stderr


def test_second_concurrent_sync_is_refused(tmp_path: Path, sb: GraphSandbox) -> None:
    """Two syncs never run at once: the second exits 2 at once with a clear message."""
    toml = make_config(tmp_path, sb)
    sb.set_latency(150)
    first = subprocess.Popen(
        sync_cmd(toml), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while sb.stats()["reads"] == 0 and time.monotonic() < deadline:
            time.sleep(0.005)  # reads begin once the first run holds the lock
        second = subprocess.run(
            sync_cmd(toml), env=env(), capture_output=True, text=True, timeout=60
        )
        assert first.poll() is None, "the first run ended before the second started"
    finally:
        out, err = first.communicate(timeout=120)
    assert second.returncode == 2
    assert "another iepsched sync is running" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, err[-1500:]
    assert json.loads(out)["exit_code"] == 0


def test_lost_state_file_end_to_end(tmp_path: Path, sb: GraphSandbox) -> None:
    """The real command: sync, log a contact, delete the state file; the next sync stops with
    exit 3 and says why on stderr, `contact list` still shows the contact, and `sync --recover`
    writes nothing and leaves no duplicate."""
    toml = make_config(tmp_path, sb)
    code, _ = run_sync(toml)
    assert code == 0
    logged = subprocess.run(
        [EXE, "--config", str(toml), "contact", "log", "S1009", "--method", "phone",
         "--with", "Renata Thornbury", "--outcome", "reached", "--at", "2026-11-30T09:00",
         "--today", TODAY.isoformat()],
        env=env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert logged.returncode == 0, logged.stderr
    fields = desired(toml)
    before = delivered(sb, fields)
    state = load_config(toml).state_path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)

    writes = sb.stats()["write_requests"]
    text = [a for a in sync_cmd(toml) if a not in ("--format", "json")]
    stopped = subprocess.run(text, env=env(), capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 3
    assert "error: the state file holds no items but the mailboxes hold" in stopped.stderr
    assert "state was lost or replaced" in stopped.stderr
    assert "taken back" in stopped.stderr  # the contact, from the journal
    assert sb.stats()["write_requests"] == writes
    listed = subprocess.run(
        [EXE, "--config", str(toml), "contact", "list", "--format", "csv"],
        env=env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Renata Thornbury" in listed.stdout

    recovered = subprocess.run(
        [*sync_cmd(toml), "--recover"], env=env(), capture_output=True, text=True, timeout=120
    )
    assert recovered.returncode == 0, recovered.stderr
    assert sb.stats()["write_requests"] == writes
    assert delivered(sb, fields) == before
    assert_no_write(toml, sb)
