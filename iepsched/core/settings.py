"""The one validated configuration object (STYLE habit 10), built once by `config.load_config`.

Only types live here, so every layer can name them without importing the TOML loader.
Paths are absolute (resolved against the config file's folder when loaded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import Problem
from .model import MeetingSettings


@dataclass(frozen=True, slots=True)
class DistrictSettings:
    """`[district]`."""

    name: str
    timezone: str  # IANA name, validated with zoneinfo
    # Which installation owns the items it writes (stored in each; see inputs.config_values).
    installation: str = "iepsched"

    @property
    def tz(self) -> dt.tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class RosterSettings:
    """`[roster]`: the CSV and an optional header mapping (our column name -> export header)."""

    path: Path
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IcsFeedSettings:
    """`[calendar.ics]`: build a calendar from the district's ICS feed (a local .ics file)."""

    path: Path
    closure_patterns: tuple[str, ...] = ("no school", "break", "holiday", "closed", "teacher work")
    first_day: dt.date | None = None
    last_day: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    """`[calendar]`: the default calendar and per-building overrides."""

    path: Path | None
    buildings: dict[str, Path] = field(default_factory=dict)
    ics: IcsFeedSettings | None = None
    # A roster building not in `buildings`: planned on the default calendar, or an error.
    unlisted_buildings: Literal["default", "error"] = "default"


# The environment variables iepsched reads its only secrets from (never the config file).
CLIENT_SECRET_ENV = "IEPSCHED_CLIENT_SECRET"
CERTIFICATE_PASSWORD_ENV = "IEPSCHED_CERTIFICATE_PASSWORD"


@dataclass(frozen=True, slots=True)
class GraphSettings:
    """`[graph]`: the Entra app and Graph endpoint. Secrets never live here (environment only)."""

    tenant_id: str = ""
    client_id: str = ""
    authority: str = ""  # default https://login.microsoftonline.com/{tenant_id}
    endpoint: str = "https://graph.microsoft.com/v1.0"
    certificate_path: Path | None = None
    max_concurrency_per_mailbox: int = 4
    token_cache_path: Path | None = None  # device-code sign-in cache (mode 0600)

    @property
    def resolved_authority(self) -> str:
        return self.authority or f"https://login.microsoftonline.com/{self.tenant_id}"


@dataclass(frozen=True, slots=True)
class StateSettings:
    """`[state]`: the SQLite state file (mode 0600)."""

    path: Path


@dataclass(frozen=True, slots=True)
class SafetySettings:
    """`[safety]`: a run that would cancel more than this many items stops (exit 3).

    `missing_students`: what a sync does for a delivered student no longer in the roster —
    "keep" their items (the default: a truncated export must cancel nothing) and say so every
    night, or "exit": treat them as exited (future meeting cancelled, open tasks removed,
    counted against `max_cancellations`).
    """

    max_cancellations: int = 10
    missing_students: Literal["keep", "exit"] = "keep"


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """`[delivery]`: how the plan reaches Microsoft 365."""

    tasks: Literal["todo", "calendar"] = (
        "todo"  # calendar = all-day calendar items instead of To Do
    )
    booking_horizon_days: int = 60  # meetings are booked once TODAY >= DUE - horizon
    todo_list_name: str = "IEP deadlines"
    category: str = "IEP"
    reminder_time: dt.time = dt.time(7, 30)


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """`[privacy]`: what a calendar item may say about a student (FERPA minimum by default).

    Placeholders: {student_id}, {initials}, {title}, {building}. Names are never available.
    """

    subject_template: str = "{title} — {student_id} {initials}"
    meeting_subject_template: str = "IEP meeting — {student_id} {initials}"


@dataclass(frozen=True, slots=True)
class Config:
    """Everything iepsched was configured with, validated."""

    source: Path
    district: DistrictSettings
    roster: RosterSettings
    calendar: CalendarSettings
    meetings: MeetingSettings
    rules_path: Path | None = None
    rooms: dict[str, str] = field(default_factory=dict)  # building -> room mailbox
    graph: GraphSettings = GraphSettings()
    state: StateSettings | None = None  # default: <config folder>/iepsched-state.sqlite
    safety: SafetySettings = SafetySettings()
    delivery: DeliverySettings = DeliverySettings()
    privacy: PrivacySettings = PrivacySettings()
    warnings: tuple[Problem, ...] = ()

    @property
    def state_path(self) -> Path:
        return self.state.path if self.state else self.source.parent / "iepsched-state.sqlite"
