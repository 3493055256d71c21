"""A school year of nightly syncs against the Graph sandbox, with the trouble a district meets.

The harness drives iepsched only from the outside, so internal refactors cannot break it:
`iepsched sync` and `iepsched plan --all --format json` run as subprocesses of this interpreter's
`iepsched`; people act through the sandbox's Graph endpoints (HTTP, with a sandbox token); the
state file is only ever read (sqlite3, read-only URI). The district comes from `synth.py`.

Each night (one per school night, `--today` = that date) seeded random events change the roster,
the calendars, the mailboxes or the network, then `iepsched sync` runs, then the invariants are
checked against the sandbox dump, the plan and the state file. A violation is recorded (night,
kind, detail with student ids only), never raised: a product defect must not stop the year.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import FIELDS, generate

from iepsched.sandbox import GraphSandbox

EXE = str(Path(sys.executable).with_name("iepsched"))
TZ = "America/Chicago"
MAX_RETRY_AFTER_S = 0.2  # the sandbox's longest Retry-After: keeps fault nights short
STORM_S = 0.4  # a 429 storm's length: well inside the client's 8 attempts at <= 0.2 s each
HORIZON_DAYS = 60  # [delivery] booking_horizon_days default: when a proposed meeting is delivered

# Every event kind the harness can inject; each is switched on or off by name.
EVENT_KINDS = (
    "add",  # a student added to the roster
    "exit",  # status=exited
    "transfer",  # another case manager of the same district
    "transfer_moved",  # a transfer of a student whose meeting a person moved
    "remove",  # the row deleted from the roster
    "correct_due",  # a due date corrected by a few days
    "held",  # a meeting held: the roster then carries last_iep_date = meeting date
    "snow_day",  # a closed day added to a calendar, preferably on a booked meeting day
    "move_meeting",  # a case manager moves a meeting in Outlook
    "delete_task",  # a case manager deletes a task in To Do
    "complete_contact",  # a parent-contact task completed with a method ticked
    "truncated_roster",  # the export cut off mid-row
    "bad_row",  # one row with an impossible date
    "unbalanced_quote",  # a quote that never closes
    "cp1252_roster",  # the export saved as Windows-1252
    "storm_429",  # every request throttled for a second
    "faults_503",  # 503s on a share of requests
    "dropped",  # connections dropped on a share of requests
    "kill",  # the sync SIGKILLed mid-run, then re-run
    "state_lost",  # once: the state file deleted
    "mailbox_wiped",  # once: every iepsched item of one mailbox gone
)
ROSTER_TROUBLE = ("truncated_roster", "bad_row", "unbalanced_quote", "cp1252_roster")
NETWORK_TROUBLE = ("storm_429", "faults_503", "dropped")
ONCE = ("state_lost", "mailbox_wiped")
# Known product defects being fixed by other work (issue 8): reported, not expected to pass today.
# (Items 3 and 4 of issue 8, a wiped mailbox and a lost state file, are fixed and proven.)
KNOWN_DEFECTS: dict[str, str] = {}


@dataclass(frozen=True)
class YearOptions:
    """What a simulated year looks like."""

    students: int = 500
    per_case_manager: int = 25
    seed: int = 8
    first_night: dt.date = dt.date(2026, 8, 13)
    last_night: dt.date = dt.date(2027, 6, 4)
    max_nights: int | None = None  # stop after this many nights (a short run)
    events: frozenset[str] = frozenset(EVENT_KINDS)
    rate: float = 1.0  # scales the nightly probability of every event kind
    # Dropped connections cost the client exponential backoff (0.5 s base): at 10% a night can
    # take 20-50 s instead of ~1.5 s.
    fault_rate: float = 0.05
    latency_ms: int = 0
    once_at: float = 0.6  # fraction of the year at which the once-only events happen
    # SPEC §5: a proposed meeting is delivered once TODAY >= M - horizon ("measured from the
    # proposed meeting, not from DUE"). A student with no meeting event at all then is its own
    # kind (spec_horizon_not_met): `plan` places without free/busy, sync with it, so sync may
    # have pushed the meeting past the horizon; switched off here, it is not checked.
    check_spec_horizon: bool = True
    sync_timeout_s: float = 300.0
    # Stop after this many nights of the unshortened year (the once-only events stay on their
    # nights): a prefix of a long run, to reproduce its night N quickly.
    stop_after: int | None = None
    # (night index, kind): events that happen on that night whatever the dice say (a test's
    # guarantee that each kind is exercised); the kind must also be switched on.
    schedule: tuple[tuple[int, str], ...] = ()


@dataclass
class Violation:
    """One broken invariant (student ids only, never names), reported on the first night seen."""

    night: str
    kind: str
    detail: str
    nights: int = 1  # how many nights it was seen (a persisting state is reported once)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Tally:
    nights: int = 0
    syncs: int = 0
    kills: int = 0
    kills_missed: int = 0
    exit_codes: Counter[int] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)


# --- sandbox as a person ---------------------------------------------------------------------


class Person:
    """A case manager acting in Outlook and To Do: plain Graph HTTP against the sandbox."""

    def __init__(self, sb: GraphSandbox) -> None:
        self.sb = sb
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": "a-person",
                "client_secret": "x",
                "scope": "https://graph.microsoft.com/.default",
            }
        ).encode()
        url = f"{sb.authority}/oauth2/v2.0/token"
        with urllib.request.urlopen(url, data=form, timeout=30) as resp:
            self.token = json.loads(resp.read())["access_token"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.sb.graph_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None


def _q(mailbox: str) -> str:
    return urllib.parse.quote(mailbox)


def _task_path(f: Found) -> str:
    return f"/users/{_q(f.mailbox)}/todo/lists/{f.obj['@sandbox.listId']}/tasks/{f.obj['id']}"


# --- reading the world -----------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """An iepsched item in the sandbox."""

    key: str
    kind: str  # event | task
    mailbox: str
    obj: dict[str, Any]

    @property
    def live(self) -> bool:
        if self.kind == "event":
            return not self.obj.get("isCancelled")
        return self.obj.get("status") != "completed"

    @property
    def student(self) -> str:
        return self.key.split("/", 1)[0]

    def local_start(self) -> str:
        """The event start in the district's zone, as the plan prints it ("YYYY-MM-DD HH:MM")."""
        start = self.obj["start"]
        stamp = dt.datetime.fromisoformat(start["dateTime"][:19])
        zone = "UTC" if start.get("timeZone") in ("UTC", "tzone://Microsoft/Utc") else TZ
        stamp = stamp.replace(tzinfo=ZoneInfo(zone))
        return stamp.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")


def cycle_kind(key: str) -> str:
    """The kind of cycle an item key belongs to: "student/CYCLE/milestone", where an annual
    cycle's id is its DUE (maybe ".2"), a reevaluation's "R" + R, another's "type-date"."""
    cycle = key.split("/")[1]
    if cycle[:1].isdigit():
        return "annual"
    if cycle.startswith("R"):
        return "reevaluation"
    return cycle.split("-", 1)[0]


def annual_row(row: dict[str, Any]) -> bool:
    """Whether a `plan --all` row shows the annual meeting (alone, or holding a reevaluation):
    the meeting whose holding gives the roster its next last_iep_date."""
    kind = row.get("cycle_type") or "annual"
    return kind == "annual" or "annual" in str(row.get("purposes", "")).split("+")


def same_cycle(key: str, row: dict[str, Any]) -> bool:
    """Whether an item key belongs to the cycle of a `plan --all` row: its cycle id, or for an
    annual row any annual id (a corrected DUE renumbers the cycle; the check then still sees the
    old cycle's meeting)."""
    # A reevaluation held at the annual meeting (purposes "annual+reevaluation") shows the
    # annual cycle's meeting.
    if annual_row(row):
        return cycle_kind(key) == "annual"
    return key.split("/")[1] == row.get("cycle_id")


def found_items(dump: dict[str, Any]) -> list[Found]:
    """Every iepsched event (key in an extended property) and task (key in a linked resource)."""
    out: list[Found] = []
    for mailbox, box in dump["mailboxes"].items():
        for ev in box.get("events", []):
            for prop in ev.get("singleValueExtendedProperties") or []:
                if str(prop.get("id", "")).endswith("iepschedKey"):
                    out.append(Found(prop["value"], "event", mailbox, ev))
        for task in box.get("tasks", []):
            for link in task.get("linkedResources") or []:
                if link.get("applicationName") == "iepsched":
                    out.append(Found(link["externalId"], "task", mailbox, task))
    return out


def world(sb: GraphSandbox) -> dict[str, Any]:
    """What `found_items` and the people read of `sb.dump()`, read straight from the sandbox's
    store: the dump renders every Graph property of every item (deep copies, time formats) and
    was a tenth of the year's wall time. Same shape, fewer fields; times in UTC."""

    def when(stamp: dt.datetime) -> dict[str, str]:
        return {"dateTime": stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC"}  # fmt: skip

    store = sb.store
    out: dict[str, Any] = {}
    with store.lock:
        for key, box in sorted(store.mailboxes.items()):
            events = [
                {
                    "id": ev.id,
                    "isCancelled": bool(ev.props.get("isCancelled", False)),
                    "start": when(ev.start),
                    "end": when(ev.end),
                    "singleValueExtendedProperties": [
                        {"id": prop.id, "value": prop.value} for prop in ev.ext.values()
                    ],
                }
                for ev in box.events.values()
            ]
            tasks = [
                {
                    "@sandbox.listId": tl.id,
                    "id": task.id,
                    "status": task.props.get("status", "notStarted"),
                    "checklistItems": [{"id": i} for i in task.checklist],
                    "linkedResources": [dict(v) for v in task.linked.values()],
                }
                for tl in box.lists.values()
                for task in tl.tasks.values()
            ]
            lists = [{"id": tl.id, "wellknownListName": tl.wellknown} for tl in box.lists.values()]
            out[key] = {"events": events, "lists": lists, "tasks": tasks}
    return {"mailboxes": out}


def read_state(path: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(items by key, contacts) from the state file, read-only; empty when there is none."""
    if not path.exists():
        return {}, []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        items = {r["key"]: dict(r) for r in con.execute("SELECT * FROM items")}
        contacts = [dict(r) for r in con.execute("SELECT * FROM contacts ORDER BY id")]
    except sqlite3.DatabaseError:
        return {}, []
    finally:
        con.close()
    return items, contacts


# --- the district on disk --------------------------------------------------------------------


class District:
    """The roster (kept as rows: the truth) and the calendars of the synthetic district."""

    def __init__(self, folder: Path, config: Path, rng: random.Random) -> None:
        self.folder = folder
        self.config = config
        self.rng = rng
        with (folder / "roster.csv").open(encoding="utf-8", newline="") as fh:
            self.rows: list[dict[str, str]] = list(csv.DictReader(fh))
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
        self.state_path = folder / settings["state"]["path"]
        default_cal = settings["calendar"]["path"]
        self.building_calendar: dict[str, str] = {
            b: settings["calendar"]["buildings"].get(b, default_cal)
            for b in {r["building"] for r in self.rows}
        }
        self.next_id = 0

    # roster ------------------------------------------------------------------------------------

    def write_roster(self, trouble: str | None = None) -> set[str]:
        """Write the roster (clean, or with `trouble`); the student ids whose rows it spoils."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
        writer.writeheader()
        lines = [buf.getvalue()]
        for row in self.rows:
            buf = io.StringIO()
            csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n").writerow(row)
            lines.append(buf.getvalue())
        ids = [r["student_id"] for r in self.rows]
        spoiled: set[str] = set()
        encoding = "utf-8"
        if trouble == "truncated_roster" and len(lines) > 2:
            cut = self.rng.randrange(len(lines) // 2, len(lines))
            spoiled = set(ids[cut - 1 :])
            lines = [*lines[:cut], lines[cut][: max(1, len(lines[cut]) // 2)]]
        elif trouble == "bad_row" and len(lines) > 1:
            n = self.rng.randrange(len(self.rows))
            bad = dict(self.rows[n], birth_date="2011-02-30")
            buf = io.StringIO()
            csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n").writerow(bad)
            lines[n + 1] = buf.getvalue()
            spoiled = {ids[n]}
        elif trouble == "unbalanced_quote" and len(lines) > 1:
            n = self.rng.randrange(len(self.rows))
            lines[n + 1] = lines[n + 1].replace(",First", ',"First', 1)
            spoiled = set(ids[n:])
        elif trouble == "cp1252_roster" and self.rows:
            # A name with an accent stays in the roster; this night's export is Windows-1252.
            n = self.rng.randrange(len(self.rows))
            self.rows[n]["last_name"] = "Lást" + self.rows[n]["last_name"][4:]
            return self.write_roster_encoded("cp1252")
        text = "".join(lines)
        (self.folder / "roster.csv").write_bytes(text.encode(encoding))
        return spoiled

    def write_roster_encoded(self, encoding: str) -> set[str]:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self.rows)
        (self.folder / "roster.csv").write_bytes(buf.getvalue().encode(encoding))
        return set()  # the whole file is readable: nothing may be cancelled because of it

    def row(self, sid: str) -> dict[str, str] | None:
        return next((r for r in self.rows if r["student_id"] == sid), None)

    def active(self) -> list[dict[str, str]]:
        return [r for r in self.rows if r["status"] == "active"]

    def add_student(self, today: dt.date) -> str:
        template = self.rng.choice(self.rows)
        self.next_id += 1
        sid = f"Y{self.next_id:06d}"
        due = today + dt.timedelta(days=self.rng.randrange(30, 330))
        row = dict(
            template,
            student_id=sid,
            first_name=f"New{self.next_id}",
            last_name=f"Student{self.next_id}",
            iep_due_date=due.isoformat(),
            last_iep_date="",
            reeval_due_date="",
            status="active",
        )
        self.rows.append(row)
        return sid

    def case_managers(self, like: str) -> list[str]:
        domain = like.split("@", 1)[1]
        return sorted(
            {r["case_manager_email"] for r in self.rows if r["case_manager_email"].endswith(domain)}
        )

    # calendars ---------------------------------------------------------------------------------

    def closed_days(self, calendar: str) -> set[dt.date]:
        data = tomllib.loads((self.folder / calendar).read_text(encoding="utf-8"))
        out: set[dt.date] = set()
        for year in data["years"]:
            for c in year.get("closed", []):
                if "date" in c:
                    out.add(c["date"])
                else:
                    d = c["start"]
                    while d <= c["end"]:
                        out.add(d)
                        d += dt.timedelta(days=1)
        return out

    def add_snow_day(self, calendar: str, day: dt.date) -> None:
        """Insert a closed day into the calendar's school year holding `day` (text edit)."""
        path = self.folder / calendar
        text = path.read_text(encoding="utf-8")
        year = f"{day.year}-{(day.year + 1) % 100:02d}" if day.month >= 7 else None
        name = year or f"{day.year - 1}-{day.year % 100:02d}"
        at = text.index(f'name = "{name}"')
        at = text.index("closed = [", at) + len("closed = [")
        entry = f'\n  {{ date = {day.isoformat()}, label = "Snow day" }},'
        path.write_text(text[:at] + entry + text[at:], encoding="utf-8")


# --- the simulation --------------------------------------------------------------------------


def school_nights(district: District, options: YearOptions) -> list[dt.date]:
    """Weekdays from first to last night that are not closed in the first calendar."""
    closed = district.closed_days(sorted(set(district.building_calendar.values()))[0])
    out = []
    d = options.first_night
    while d <= options.last_night:
        if d.weekday() < 5 and d not in closed:
            out.append(d)
        d += dt.timedelta(days=1)
    return out[: options.max_nights] if options.max_nights else out


# Nightly probability of each kind at rate 1.0 (the once-only kinds are scheduled, not drawn).
PROBABILITY = {
    "add": 0.5,
    "exit": 0.25,
    "transfer": 0.3,
    "transfer_moved": 0.05,
    "remove": 0.1,
    "correct_due": 0.4,
    "held": 1.0,
    "snow_day": 0.04,
    "move_meeting": 0.3,
    "delete_task": 0.2,
    "complete_contact": 0.5,
    "truncated_roster": 0.02,
    "bad_row": 0.03,
    "unbalanced_quote": 0.02,
    "cp1252_roster": 0.02,
    "storm_429": 0.02,
    "faults_503": 0.03,
    "dropped": 0.03,
    "kill": 0.04,
}


class Year:
    """One simulated year: the sandbox, the district, the nightly loop and the invariants."""

    def __init__(self, root: Path, options: YearOptions) -> None:
        self.root = root
        self.o = options
        self.rng = random.Random(options.seed)
        self.tally = Tally()
        self.violations: list[Violation] = []
        self.seen: dict[tuple[str, str], Violation] = {}
        self.log: dict[str, list[str]] = {}  # night -> the events injected that night
        self.today = options.first_night
        self.forced: set[str] = set()
        self.seconds: dict[str, float] = {}  # night -> wall time of its sync(s)
        self.last_dump: dict[str, Any] | None = None
        self.moved: dict[str, str] = {}  # meeting key -> where the person put it (local time)
        self.moved_tonight: set[str] = set()  # of those, moved since the last sync
        self.deleted: set[str] = set()  # task keys a person deleted
        self.completed: dict[str, str] = {}  # contact task key -> night completed, until logged
        self.touched: set[str] = set()  # keys a person changed (excluded from cancel checks)
        self.held: set[str] = set()  # students whose current meeting the roster marked held
        self.plan: list[dict[str, Any]] = []
        self.wiped: str | None = None
        self.last_state: tuple[dict[str, dict[str, Any]], list[dict[str, Any]]] | None = None

    # plumbing ----------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {**os.environ, "IEPSCHED_CLIENT_SECRET": "x", "IEPSCHED_CONFIG": ""}
        # Run as an installation does: bytecode compiled once, not ~90 modules per process
        # (a session with PYTHONDONTWRITEBYTECODE spent ~0.2 s of every sync and plan on it);
        # the cache lives in the year's scratch folder, not in the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.root / "pycache")
        return env

    def command(self, *args: str, name: str) -> list[str]:
        """`iepsched --config CONFIG ARGS`; under cProfile (one file per run, `name`) when
        YEARSIM_PROFILE names a folder."""
        cmd = [EXE, "--config", str(self.d.config), *args]
        folder = os.environ.get("YEARSIM_PROFILE")
        if folder:
            out = Path(folder) / f"{name}-{self.tally.syncs}.prof"
            cmd = [sys.executable, "-m", "cProfile", "-o", str(out), *cmd]
        return cmd

    def sync(
        self, night: dt.date, *, kill: bool = False, extra: tuple[str, ...] = ()
    ) -> tuple[int, dict[str, Any]]:
        """One `iepsched sync --today night` (SIGKILLed after a few writes when `kill`)."""
        cmd = self.command(
            "sync", "--today", night.isoformat(), *extra, "--format", "json", name="sync"
        )
        if kill:
            start = self.sb.stats()["writes"]
            after = self.rng.randint(1, 8)  # a quiet night writes little
            proc = subprocess.Popen(
                cmd, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + self.o.sync_timeout_s
            while proc.poll() is None and time.monotonic() < deadline:
                if self.sb.stats()["writes"] - start >= after:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
                time.sleep(0.002)
            proc.wait(timeout=60)
            if proc.returncode == -signal.SIGKILL:
                self.tally.kills += 1
            else:
                self.tally.kills_missed += 1
        self.tally.syncs += 1
        done = subprocess.run(
            cmd, env=self.env(), capture_output=True, text=True, timeout=self.o.sync_timeout_s
        )
        try:
            report = json.loads(done.stdout) if done.stdout.strip() else {}
        except json.JSONDecodeError:
            report = {}
        if not report:
            report = {"stderr": done.stderr[-300:]}
        self.tally.exit_codes[done.returncode] += 1
        return done.returncode, report

    def start_plan(self, night: dt.date) -> subprocess.Popen[bytes]:
        """`plan --all --format json` started (into a file: the JSON outgrows a pipe), so the
        harness reads the sandbox and the state while it plans (two cores)."""
        cmd = self.command("plan", "--all", "--format", "json", "--today", night.isoformat(),
                           name="plan")  # fmt: skip
        with (
            (self.root / "plan.json").open("wb") as out,
            (self.root / "plan.err").open("wb") as err,
        ):
            return subprocess.Popen(cmd, env=self.env(), stdout=out, stderr=err)

    def finish_plan(self, night: dt.date, proc: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
        code = proc.wait(timeout=self.o.sync_timeout_s)
        stdout = (self.root / "plan.json").read_text(encoding="utf-8")
        if code not in (0, 1) or not stdout.strip():  # 1: rows skipped, named
            stderr = (self.root / "plan.err").read_text(encoding="utf-8", errors="replace")
            self.violate(night, "plan_failed", f"exit {code}: {_tail(stderr)}")
            return []
        rows: list[dict[str, Any]] = json.loads(stdout)
        return rows

    def violate(self, night: dt.date, kind: str, detail: str, subject: str | None = None) -> None:
        """Record a violation; the same (kind, subject) on a later night only counts the night."""
        known = self.seen.get((kind, subject or detail))
        if known is not None:
            known.nights += 1
            return
        v = Violation(night.isoformat(), kind, detail)
        self.seen[(kind, subject or detail)] = v
        self.violations.append(v)

    def event(self, kind: str, subject: str = "") -> None:
        """Count an injected event and log it under tonight (student ids only)."""
        self.tally.events[kind] += 1
        self.log.setdefault(self.today.isoformat(), []).append(f"{kind} {subject}".strip())

    def happens(self, kind: str) -> bool:
        if kind not in self.o.events:
            return False
        if kind in self.forced:
            return True
        return self.rng.random() < PROBABILITY[kind] * self.o.rate

    # the year ----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        with GraphSandbox(
            latency_ms=self.o.latency_ms, seed=self.o.seed, max_retry_after=MAX_RETRY_AFTER_S
        ) as sb:
            sb.start(port=0)
            self.sb = sb
            folder = self.root / "district"
            config = generate(
                folder,
                students=self.o.students,
                seed=self.o.seed,
                start=self.o.first_night + dt.timedelta(days=7),
                per_case_manager=self.o.per_case_manager,
                endpoint=sb.graph_url,
                authority=sb.authority,
            )
            self.d = District(folder, config, self.rng)
            self.person = Person(sb)
            nights = school_nights(self.d, self.o)
            once = {
                kind: nights[min(len(nights) - 1, int(len(nights) * self.o.once_at) + i)]
                for i, kind in enumerate(ONCE)
                if kind in self.o.events
            }
            for n, night in enumerate(nights[: self.o.stop_after]):
                self.forced = {k for i, k in self.o.schedule if i == n}
                self.night(night, [k for k, d in once.items() if d == night])
            stats = sb.stats()
        return self.report(stats, time.perf_counter() - t0)

    def night(self, night: dt.date, once: list[str]) -> None:
        self.tally.nights += 1
        self.today = night
        self.moved_tonight = set()
        # Nothing changes between last night's check and now: its dump is tonight's "before".
        dump = self.last_dump if self.last_dump is not None else world(self.sb)
        before = {f.key: f for f in found_items(dump) if f.live}
        # Likewise last night's read of the state file.
        if self.last_state is None:
            self.last_state = read_state(self.d.state_path)
        contacts_before = self.last_state[1]
        spoiled: set[str] = set()
        trouble = next((k for k in ROSTER_TROUBLE if self.happens(k)), None)
        if trouble is None:
            self.roster_events(night)
            self.d.write_roster()
        else:
            # A spoiled export comes alone: whatever it cancels, it cancels because of it.
            self.event(trouble)
            spoiled = self.d.write_roster(trouble)
        if self.happens("snow_day"):
            self.snow_day(night)
        self.person_events(night, before)
        for kind in once:
            self.event(kind)
            if kind == "state_lost":
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{self.d.state_path}{suffix}").unlink(missing_ok=True)
            else:
                self.wipe_mailbox(dump)

        network = next((k for k in NETWORK_TROUBLE if self.happens(k)), None)
        kill = self.happens("kill")
        if network:
            self.event(network)
            rate, kinds = {
                "storm_429": (1.0, ["429"]),
                "faults_503": (self.o.fault_rate, ["503"]),
                "dropped": (self.o.fault_rate, ["drop"]),
            }[network]
            self.sb.set_faults(rate, kinds)
        if kill:
            self.event("kill")
        t0 = time.perf_counter()
        try:
            if network == "storm_429":
                code, report = self.storm(night, kill)
            else:
                code, report = self.sync(night, kill=kill)
        finally:
            self.sb.set_faults(0.0)
        if once:
            # SPEC §5: a lost state or a wiped mailbox stops the run (exit 3) and says what it
            # saw; the coordinator then answers it as the README says.
            if code != 3:
                self.violate(night, "no_loss_stop", f"exit {code} after {', '.join(once)}")
            flag = "--recover" if "state_lost" in once else "--accept-loss"
            code, report = self.sync(night, extra=(flag,))
        self.seconds[night.isoformat()] = round(time.perf_counter() - t0, 2)
        planning = self.start_plan(night)
        self.last_dump = world(self.sb)
        state = self.last_state = read_state(self.d.state_path)
        self.plan = self.finish_plan(night, planning)
        self.check(night, code, report, before, spoiled, trouble, state, len(contacts_before))

    def storm(self, night: dt.date, kill: bool) -> tuple[int, dict[str, Any]]:
        """Everything throttled for a moment from the run's first request (a storm the client's
        retry budget covers: a longer one ends the run with exit 2 by design)."""
        import threading

        stop = threading.Event()
        start = self.sb.stats()["faults"]["429"]

        def weather() -> None:
            while self.sb.stats()["faults"]["429"] == start and not stop.wait(0.005):
                pass
            stop.wait(STORM_S)
            self.sb.set_faults(0.0)

        thread = threading.Thread(target=weather)
        thread.start()
        try:
            return self.sync(night, kill=kill)
        finally:
            stop.set()
            thread.join()

    # events ------------------------------------------------------------------------------------

    def roster_events(self, night: dt.date) -> None:
        rng = self.rng
        d = self.d
        if self.happens("add"):
            self.event("add", d.add_student(night))
        active = d.active()
        if active and self.happens("exit"):
            row = rng.choice(active)
            row["status"] = "exited"
            self.event("exit", row["student_id"])
        moved = sorted({k.split("/", 1)[0] for k in self.moved} & {r["student_id"] for r in active})
        # A plain transfer picks a student whose meeting no person moved: that combination is
        # its own kind (transfer_moved), so each can be switched on and off alone.
        unmoved = [r for r in active if r["student_id"] not in moved]
        if unmoved and self.happens("transfer"):
            row = rng.choice(unmoved)
            others = [
                c
                for c in d.case_managers(row["case_manager_email"])
                if c != row["case_manager_email"]
            ]
            if others:
                row["case_manager_email"] = rng.choice(others)
                self.event("transfer", row["student_id"])
        if moved and self.happens("transfer_moved"):
            row = d.row(rng.choice(moved)) or {}
            others = [
                c
                for c in d.case_managers(row["case_manager_email"])
                if c != row["case_manager_email"]
            ]
            if others:
                row["case_manager_email"] = rng.choice(others)
                self.event("transfer_moved", row["student_id"])
        if d.rows and self.happens("remove"):
            row = rng.choice(d.rows)
            d.rows.remove(row)
            self.event("remove", row["student_id"])
        if active and self.happens("correct_due"):
            row = rng.choice(active)
            shift = dt.timedelta(days=rng.choice([-7, -3, -1, 1, 2, 5, 10]))
            name = "iep_due_date" if row["iep_due_date"] else "last_iep_date"
            row[name] = (dt.date.fromisoformat(row[name]) + shift).isoformat()
            self.event("correct_due", f"{row['student_id']} {shift.days:+d}d")
        if "held" in self.o.events:
            for p in self.plan:
                if not p["meeting"] or p["student_id"] in self.held or not annual_row(p):
                    continue  # only the annual meeting gives the roster its next IEP date
                day = dt.date.fromisoformat(p["meeting"][:10])
                held = d.row(p["student_id"])
                # The roster is updated a few days after the meeting, not always the next night.
                is_active = held is not None and held["status"] == "active"
                if day < night and held is not None and is_active and rng.random() < 0.7:
                    held["last_iep_date"] = day.isoformat()
                    held["iep_due_date"] = ""
                    self.held.add(p["student_id"])
                    self.event("held", p["student_id"])
            # A new cycle has a new meeting: forget the held mark once the plan moved on.
            self.held = {
                s
                for s in self.held
                if any(
                    p["student_id"] == s
                    and annual_row(p)
                    and p["meeting"]
                    and p["meeting"][:10] < night.isoformat()
                    for p in self.plan
                )
            }

    def snow_day(self, night: dt.date) -> None:
        """Close a coming school day of one calendar, a booked meeting's day when there is one."""
        calendar = self.rng.choice(sorted(set(self.d.building_calendar.values())))
        closed = self.d.closed_days(calendar)
        window = [night + dt.timedelta(days=n) for n in range(1, 15)]
        window = [d for d in window if d.weekday() < 5 and d not in closed]
        booked = sorted(
            {
                dt.date.fromisoformat(p["meeting"][:10])
                for p in self.plan
                if p["meeting"] and self.d.building_calendar.get(p["building"]) == calendar
            }
            & set(window)
        )
        choice = booked[0] if booked else (window[0] if window else None)
        if choice is not None:
            self.d.add_snow_day(calendar, choice)
            self.event("snow_day", f"{Path(calendar).stem} {choice}")

    def taken_for_sync(self, sid: str, local_start: str) -> bool:
        """Whether free/busy shows one of the student's required people busy at `plan`'s slot.

        `plan` places without Graph free/busy and sync with it (SPEC §3.1 "when Graph free/busy
        is known"), so sync may take a later slot than `plan` shows, e.g. when a meeting kept for
        a student missing from the roster still fills the LEA's calendar. Asked of the sandbox's
        own getSchedule, which is what sync saw: such a student is not a horizon violation.
        """
        from iepsched.sandbox import getschedule

        row = next((r for r in self.d.rows if r["student_id"] == sid), None)
        if row is None:
            return False
        people = [row["case_manager_email"], row["lea_email"]]
        people += [e for e in row.get("gen_ed_emails", "").split(";") if e]
        # The building's room is required too (SPEC §3.1; synth.py: "room.NNN@<district>").
        building = str(row.get("building", ""))
        if building.startswith("Building ") and "@" in row["case_manager_email"]:
            room_domain = row["case_manager_email"].split("@", 1)[1]
            people.append(f"room.{building.split()[1]}@{room_domain}")
        start = dt.datetime.strptime(local_start, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(TZ))
        body = {
            "schedules": people,
            "startTime": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": TZ},
            "endTime": {
                "dateTime": (start + dt.timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": TZ,
            },
            "availabilityViewInterval": 60,
        }
        with self.sb.store.lock:
            answers = getschedule.get_schedule(self.sb.store, body, TZ)
        return any(set(a.get("availabilityView", "")) - {"0"} for a in answers)

    def person_events(self, night: dt.date, live: dict[str, Found]) -> None:
        rng = self.rng
        if self.happens("move_meeting"):
            later = night + dt.timedelta(days=3)
            meetings = [
                f
                for f in live.values()
                if f.kind == "event"
                and f.key.endswith("/meeting")
                and f.local_start()[:10] > later.isoformat()
                and f.key not in self.moved
                and f.mailbox != self.wiped
            ]
            if meetings:
                self.move(rng.choice(sorted(meetings, key=lambda f: f.key)))
        if self.happens("delete_task"):
            tasks = sorted(
                (f for f in live.values() if f.kind == "task" and "parent_contact" not in f.key),
                key=lambda f: f.key,
            )
            if tasks:
                f = rng.choice(tasks)
                self.person.call("DELETE", _task_path(f))
                self.deleted.add(f.key)
                self.touched.add(f.key)
                self.event("delete_task", f.key)
        if self.happens("complete_contact"):
            tasks = sorted(
                (f for f in live.values() if f.kind == "task" and "/parent_contact" in f.key),
                key=lambda f: f.key,
            )
            if tasks:
                self.complete(rng.choice(tasks), night)

    def move(self, f: Found) -> None:
        """The organizer drags the meeting to the next weekday, same time."""
        start = dt.datetime.strptime(f.local_start(), "%Y-%m-%d %H:%M")
        length = dt.datetime.fromisoformat(
            f.obj["end"]["dateTime"][:19]
        ) - dt.datetime.fromisoformat(f.obj["start"]["dateTime"][:19])
        new = start + dt.timedelta(days=1)
        while new.weekday() >= 5:
            new += dt.timedelta(days=1)
        end = new + length
        self.person.call(
            "PATCH",
            f"/users/{_q(f.mailbox)}/events/{f.obj['id']}",
            {
                "start": {"dateTime": new.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": TZ},
                "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": TZ},
            },
        )
        self.moved[f.key] = new.strftime("%Y-%m-%d %H:%M")
        self.moved_tonight.add(f.key)
        self.touched.add(f.key)
        self.event("move_meeting", f"{f.key} -> {self.moved[f.key]}")

    def complete(self, f: Found, night: dt.date) -> None:
        """Tick a method on the checklist, then complete the task."""
        base = _task_path(f)
        items = f.obj.get("checklistItems") or []
        if items:
            pick = self.rng.choice(items)
            self.person.call("PATCH", f"{base}/checklistItems/{pick['id']}", {"isChecked": True})
        self.person.call("PATCH", base, {"status": "completed"})
        self.completed[f.key] = night.isoformat()
        self.touched.add(f.key)
        self.event("complete_contact", f.key)

    def wipe_mailbox(self, dump: dict[str, Any]) -> None:
        """Every event and every list but the default one of the busiest mailbox, deleted."""
        boxes = dump["mailboxes"]
        if not boxes:
            return
        mailbox = max(sorted(boxes), key=lambda m: len(boxes[m]["events"]) + len(boxes[m]["tasks"]))
        for ev in boxes[mailbox]["events"]:
            self.person.call("DELETE", f"/users/{_q(mailbox)}/events/{ev['id']}")
        for tl in boxes[mailbox]["lists"]:
            if tl.get("wellknownListName") != "defaultList":
                self.person.call("DELETE", f"/users/{_q(mailbox)}/todo/lists/{tl['id']}")
        self.last_dump = None
        self.wiped = mailbox
        # The wipe erased a move a person made there tonight, before any sync saw it; and what
        # vanished with it is the wipe's doing, not a spoiled export's.
        gone = {f.key for f in found_items(dump) if f.mailbox == mailbox}
        self.moved = {k: w for k, w in self.moved.items() if k not in gone & self.moved_tonight}
        self.touched |= gone

    # invariants --------------------------------------------------------------------------------

    def check(
        self,
        night: dt.date,
        code: int,
        report: dict[str, Any],
        before: dict[str, Found],
        spoiled: set[str],
        trouble: str | None,
        state: tuple[dict[str, dict[str, Any]], list[dict[str, Any]]],
        contacts_before: int,
    ) -> None:
        """The invariants after tonight's sync(s), over `self.last_dump` (the sandbox now),
        `state` (the state file now) and `self.plan`."""
        expected = {0}
        if trouble:
            # SPEC §2.2: skipped rows are named and exit 1; a spoiled export may be refused whole.
            expected = {0, 1, 2}
        if code not in expected:
            failures = report.get("failures") or report.get("stderr") or ""
            self.violate(
                night,
                "sync_exit",
                f"exit {code} (expected {sorted(expected)}): {_tail(str(failures))}",
            )
        assert self.last_dump is not None
        found = found_items(self.last_dump)
        live = [f for f in found if f.live]
        counts = Counter(f.key for f in live)
        for key, n in sorted(counts.items()):
            if n > 1:
                self.violate(night, "duplicate", f"{key} x{n}")
        by_key = {f.key: f for f in live}
        items, contacts = state

        if code != 0:
            # A run that stopped early leaves the state and the plan behind the mailboxes until
            # the next run: only what must hold even then (duplicates, people, contacts) is checked.
            items = {}
        plan = self.plan if code == 0 else []
        # The state's live items are in the mailboxes.
        for key, st in sorted(items.items()):
            if st["state"] == "live" and st["kind"] in ("event", "task") and key not in by_key:
                self.violate(night, "state_live_but_missing", key)

        # Each student with a delivered meeting has exactly one event at the planned time.
        meetings: dict[str, list[Found]] = {}
        for f in live:
            if f.kind == "event" and f.key.endswith("/meeting"):
                meetings.setdefault(f.student, []).append(f)
        for p in plan:
            if not p["meeting"] or p["meeting"][:10] < night.isoformat():
                continue
            due = dt.date.fromisoformat(p["due_date"])
            day = dt.date.fromisoformat(p["meeting"][:10])
            horizon = dt.timedelta(days=HORIZON_DAYS)
            booked = p["meeting_state"] != "proposed"
            sid = p["student_id"]
            # This row's cycle's events only (plan --all has a row per open cycle; a student's
            # other cycles, e.g. a separate reevaluation, have rows and meetings of their own).
            mine = [f for f in meetings.get(sid, []) if same_cycle(f.key, p)]
            at = [f for f in mine if f.local_start() == p["meeting"]]
            others = sorted(f.local_start() for f in mine)
            # SPEC §5: delivered once TODAY >= M - horizon, measured from the meeting, not from
            # DUE (a late meeting placed in August for a May DUE is not in the calendar in April).
            if (booked or night >= day - horizon) and len(at) != 1:
                # A past (held) meeting of an earlier cycle says nothing about this one.
                if booked or [x for x in others if x[:10] >= night.isoformat()]:
                    self.violate(
                        night,
                        "meeting_not_at_planned_time",
                        f"{sid}: plan {p['meeting']} ({p['meeting_state']}), events at {others}",
                        subject=f"{sid} {p['meeting']}",
                    )
                elif self.o.check_spec_horizon and not self.taken_for_sync(sid, p["meeting"]):
                    self.violate(
                        night,
                        "spec_horizon_not_met",
                        f"{sid}: meeting {p['meeting']} within {HORIZON_DAYS} days, due {due}, "
                        "not delivered",
                        subject=sid,
                    )
            # One future meeting per kind of cycle (SPEC §3.6: a reevaluation not held at the
            # annual meeting has its own); two of one kind is a stale cycle's meeting left over.
            future = Counter(
                cycle_kind(f.key)
                for f in meetings.get(sid, [])
                if f.local_start()[:10] >= night.isoformat()
            )
            for kind, n in sorted(future.items()):
                if n > 1:
                    self.violate(
                        night,
                        "extra_future_meeting",
                        f"{sid}: {n} future {kind} meetings",
                        f"{sid} {kind}",
                    )

        # No meeting stays on a day its school's calendar now closes (a snow day on a booked
        # meeting's day): it is moved, whatever the plan does with it. A person's move is theirs.
        closed = {c: self.d.closed_days(c) for c in set(self.d.building_calendar.values())}
        building = {r["student_id"]: r["building"] for r in self.d.rows}
        for sid, events in sorted(meetings.items()):
            calendar = self.d.building_calendar.get(building.get(sid, ""))
            for f in events:
                day = dt.date.fromisoformat(f.local_start()[:10])
                mine = f.key not in self.moved
                if mine and calendar and day >= night and day in closed[calendar]:
                    self.violate(night, "meeting_on_closed_day", f"{f.key}: {day}", f.key)

        # People win: a moved meeting stays where the person put it; a deleted task stays deleted.
        for key, where in sorted(self.moved.items()):
            event = by_key.get(key)
            if event is not None and event.local_start() != where:
                self.violate(
                    night,
                    "person_move_overwritten",
                    f"{key}: moved to {where}, now {event.local_start()}",
                )
                del self.moved[key]  # overwritten once; it is the product's meeting again
        self.moved = {k: w for k, w in self.moved.items() if w[:10] >= night.isoformat()}
        for key in sorted(self.deleted):
            if key in by_key:
                self.violate(night, "person_deleted_task_recreated", key)

        # Nothing delivered was cancelled because of a spoiled roster export.
        if spoiled:
            for key, f in sorted(before.items()):
                if f.student in spoiled and key not in by_key and key not in self.touched:
                    self.violate(night, "cancelled_on_bad_roster", f"{trouble}: {key}")

        # The contact log lost nothing; every completed contact task is logged.
        if len(contacts) < contacts_before:
            self.violate(
                night,
                "contact_log_lost",
                f"{contacts_before} contacts before the night, {len(contacts)} after",
            )
        refs = {str(c["source_ref"]).split("#", 1)[0] for c in contacts}  # key#method
        if code in (0, 1):
            for key, when in sorted(self.completed.items()):
                if key not in refs:
                    self.violate(night, "contact_not_logged", f"{key} (completed {when})")
            self.completed = {}
        self.touched &= set(self.moved) | self.deleted

    def report(self, stats: dict[str, Any], seconds: float) -> dict[str, Any]:
        kinds = Counter(v.kind for v in self.violations)
        nights: Counter[str] = Counter()
        for v in self.violations:
            nights[v.kind] += v.nights
        return {
            "benchmark": "school_year",
            "students": self.o.students,
            "case_managers": max(1, self.o.students // self.o.per_case_manager),
            "seed": self.o.seed,
            "nights": self.tally.nights,
            "first_night": self.o.first_night.isoformat(),
            "syncs": self.tally.syncs,
            "kills": self.tally.kills,
            "kills_missed": self.tally.kills_missed,
            "exit_codes": {str(k): n for k, n in sorted(self.tally.exit_codes.items())},
            "events": dict(sorted(self.tally.events.items())),
            "http_requests": stats["http_requests"],
            "writes": stats["writes"],
            "reads": stats["reads"],
            "throttled": stats["throttled"],
            "faults_survived": stats["faults"],
            "seconds": round(seconds, 1),
            "sync_seconds": round(sum(self.seconds.values()), 1),  # the rest is the harness
            "violation_counts": dict(sorted(kinds.items())),
            "violation_nights": dict(sorted(nights.items())),
            "violations": [v.as_dict() for v in self.violations],
            "slowest_nights": dict(sorted(self.seconds.items(), key=lambda kv: -kv[1])[:5]),
            "log": self.log,
        }


def _tail(text: str, n: int = 240) -> str:
    return " ".join(text.split())[-n:]


def run_year(root: Path, options: YearOptions) -> dict[str, Any]:
    """Simulate the year in `root` (a scratch folder); the JSON-ready report."""
    return Year(root, options).run()


def parse_events(on: Iterable[str] | None, off: Iterable[str]) -> frozenset[str]:
    """The event kinds switched on: `on` (default all) minus `off`; unknown names refused."""
    chosen = set(on) if on else set(EVENT_KINDS)
    chosen -= set(off)
    unknown = chosen - set(EVENT_KINDS) | set(off) - set(EVENT_KINDS)
    if unknown:
        raise ValueError(f"unknown event kinds: {sorted(unknown)}; known: {list(EVENT_KINDS)}")
    return frozenset(chosen)


__all__ = [
    "EVENT_KINDS",
    "KNOWN_DEFECTS",
    "Violation",
    "YearOptions",
    "parse_events",
    "run_year",
]
