"""Read the main config (SPEC §2.1) into one validated `Config` (STYLE habit 10).

Every problem in the file is collected and raised together as one `UserError`, each naming the
file, section and key (``config/iepsched.toml [meetings] slots``), so a coordinator fixes them in
one pass instead of one per run. Unknown sections and keys are warnings (`Config.warnings`): a typo
must not stop a nightly sync, but it must be visible.

Relative paths in the file are relative to the file's folder, not to wherever iepsched was started.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.errors import Problem, UserError
from ..core.model import MeetingSettings, Student
from ..core.rules import DEFAULT_RULES, Rules, rules_from_toml
from ..core.settings import (
    CalendarSettings,
    Config,
    DeliverySettings,
    DistrictSettings,
    GraphSettings,
    IcsFeedSettings,
    PrivacySettings,
    RosterSettings,
    SafetySettings,
    StateSettings,
)

T = TypeVar("T")

# What each section may contain; anything else is warned about (with a "did you mean").
_KNOWN: dict[str, tuple[str, ...]] = {
    "district": ("name", "timezone"),
    "roster": ("path", "columns"),
    "calendar": ("path", "buildings", "ics"),
    "meetings": ("slots", "duration_minutes", "max_per_day"),
    "rules": ("path",),
    "graph": (
        "tenant_id",
        "client_id",
        "authority",
        "endpoint",
        "certificate_path",
        "max_concurrency_per_mailbox",
        "token_cache_path",
    ),
    "state": ("path",),
    "safety": ("max_cancellations",),
    "rooms": (),  # free-form: building name -> room mailbox
    "delivery": ("tasks", "booking_horizon_days", "todo_list_name", "category", "reminder_time"),
    "privacy": ("subject_template", "meeting_subject_template"),
}
_ICS_KEYS = ("path", "closure_patterns", "first_day", "last_day")
_REQUIRED_HINT = {
    "district": 'name = "..." and timezone = "America/Chicago"',
    "roster": 'path = "roster.csv"',
    "calendar": 'path = "calendars/district.toml" (the default school calendar)',
}

# Placeholders a subject may use. Anything that identifies a student beyond the district id and
# initials (names, birth date, email, disability) must never reach a calendar item: subjects are
# visible to every attendee and often on lock screens.
TEMPLATE_PLACEHOLDERS = ("student_id", "initials", "title", "building")
_PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "name",
    "full_name",
    "birth_date",
    "dob",
    "student_email",
    "email",
    "grade",
    "disability",
    "category",
    "exceptionality",
)

_SECRET_KEY = re.compile(r"secret|password|passwd|passphrase", re.IGNORECASE)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
# A basic shape check (x@y.z, no spaces or list separators), not RFC 5322: Graph is the judge.
EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def display_path(path: Path) -> str:
    """How messages name a file: as the user gave it, or relative to the working folder if inside.

    Messages quote paths so a coordinator can open the file; an absolute path under the current
    folder is shortened to the relative form they would have typed.
    """
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_toml(path: Path, *, not_found: str) -> dict[str, Any]:
    """A TOML file's tables; `UserError` naming the file when it is missing or unreadable.

    A BOM is tolerated because Windows editors add one; `tomllib` itself would refuse it.
    """
    shown = display_path(path)
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except (FileNotFoundError, IsADirectoryError):
        raise UserError(Problem(shown, not_found)) from None
    except UnicodeDecodeError:
        raise UserError(Problem(shown, "is not UTF-8 text; save it as UTF-8")) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(Problem(shown, f"is not valid TOML: {exc}")) from None


def load_config(path: Path) -> Config:
    """Read and validate the config file; raise `UserError` listing every problem found."""
    shown = display_path(path)
    data = read_toml(
        path,
        not_found=(
            f"config file not found (looked for {path.absolute()}). Point at another file "
            "with `iepsched --config PATH ...` or the IEPSCHED_CONFIG environment variable; "
            "config/iepsched.toml in the iepsched repository is a complete example."
        ),
    )
    reader = _Reader(shown=shown, base=path.resolve().parent)
    config = reader.build(data, source=path.resolve())
    errors = [p for p in reader.problems if p.severity == "error"]
    if errors or config is None:
        raise UserError(errors)
    return config


def load_rules_checked(config: Config) -> tuple[Rules, tuple[Problem, ...]]:
    """The timeline rules (`[rules] path`, else the defaults) and the rules file's warnings.

    Raises `UserError` when the rules file has errors.
    """
    if config.rules_path is None:
        return DEFAULT_RULES, ()
    data = read_toml(config.rules_path, not_found="rules file not found ([rules] path)")
    rules, problems = rules_from_toml(data, display_path(config.rules_path))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise UserError(errors)
    return rules, tuple(p for p in problems if p.severity != "error")


def load_rules(config: Config) -> Rules:
    """The timeline rules for this config; `load_rules_checked` also returns the file's warnings."""
    return load_rules_checked(config)[0]


def check_rooms(config: Config, students: Sequence[Student]) -> list[Problem]:
    """Warn about `[rooms]` entries that name no building of the roster (a typo loses the room)."""
    return unmatched_buildings(
        config.rooms, students, where=f"{display_path(config.source)} [rooms]"
    )


def unmatched_buildings(
    names: Iterable[str], students: Iterable[Student], *, where: str
) -> list[Problem]:
    """A warning for each configured building name that no student of the roster is in."""
    roster = {building_key(s.building): s.building for s in students}
    listed = ", ".join(sorted(roster.values()))
    return [
        Problem(
            f"{where} {_quote_key(name)}",
            f"no student in the roster is in this building; check the spelling "
            f"(roster buildings: {listed})",
            "warning",
        )
        for name in names
        if building_key(name) not in roster
    ]


def building_key(name: str) -> str:
    """How building names are compared: case-insensitively, regardless of repeated spaces."""
    return " ".join(name.split()).casefold()


class BuildingMap(dict[str, str]):
    """A dict keyed by building name whose lookups ignore case and repeated spaces.

    `[rooms]` is written by hand and the roster comes from an export; "Bluestem high" in one and
    "Bluestem High" in the other must still find the room (the planner looks rooms up with
    `.get(student.building)`, for every student, so the normalised names are indexed).
    """

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__(items or {})
        self._index = {building_key(name): name for name in self}

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name, value)
        self._index[building_key(name)] = name

    def _find(self, name: object) -> str | None:
        if not isinstance(name, str):
            return None
        if dict.__contains__(self, name):
            return name
        return self._index.get(building_key(name))

    def __getitem__(self, name: str) -> str:
        found = self._find(name)
        if found is None:
            raise KeyError(name)
        return dict.__getitem__(self, found)

    def __contains__(self, name: object) -> bool:
        return self._find(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        found = self._find(name)
        return default if found is None else dict.__getitem__(self, found)


def _quote_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


@dataclass
class _Reader:
    """Validates one parsed config file, collecting problems instead of stopping at the first."""

    shown: str
    base: Path

    def __post_init__(self) -> None:
        self.problems: list[Problem] = []

    # -- reporting --------------------------------------------------------------------------

    def where(self, section: str, key: str = "") -> str:
        return f"{self.shown} [{section}] {key}".rstrip() if key else f"{self.shown} [{section}]"

    def error(self, section: str, key: str, message: str) -> None:
        self.problems.append(Problem(self.where(section, key), message))

    def warn(self, section: str, key: str, message: str) -> None:
        self.problems.append(Problem(self.where(section, key), message, "warning"))

    def unknown(self, section: str, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key in known or _SECRET_KEY.search(key):
                continue
            close = _close_matches(key, known)
            hint = f"did you mean {close[0]}? " if close else ""
            listed = ", ".join(known) if known else "none"
            self.warn(section, _quote_key(key), f"unknown key, ignored ({hint}known: {listed})")

    def secrets(self, table: Mapping[str, Any], section: str) -> None:
        """Secrets live in the environment only: a config file is copied, mailed and committed."""
        for key, value in table.items():
            where = f"{section}.{key}" if section else key
            if isinstance(value, Mapping):
                self.secrets(value, where)
            elif _SECRET_KEY.search(key):
                sec, _, name = where.rpartition(".")
                if sec == "graph":
                    var = (
                        "IEPSCHED_CERTIFICATE_PASSWORD"
                        if re.search("pass", key, re.IGNORECASE)
                        else "IEPSCHED_CLIENT_SECRET"
                    )
                    fix = f"set the environment variable {var} where iepsched runs"
                else:
                    fix = (
                        "iepsched reads its only secrets from the environment "
                        "(IEPSCHED_CLIENT_SECRET, IEPSCHED_CERTIFICATE_PASSWORD)"
                    )
                self.problems.append(
                    Problem(
                        self.where(sec, _quote_key(name)) if sec else f"{self.shown} {name}",
                        f"secrets must not be stored in the config file: delete this key; {fix}",
                    )
                )

    # -- typed getters (each reports and returns the default on a bad value) ----------------

    def table(
        self, data: Mapping[str, Any], section: str, *, required: bool = False
    ) -> dict[str, Any]:
        value = data.get(section.rpartition(".")[2])
        if value is None:
            if required:
                self.error(section, "", f"missing section; add it with {_REQUIRED_HINT[section]}")
            return {}
        if not isinstance(value, dict):
            self.error(section, "", f"must be a table ([{section}]), not {_describe(value)}")
            return {}
        return value

    def get(
        self,
        table: Mapping[str, Any],
        section: str,
        key: str,
        convert: Callable[[Any], T],
        default: T,
        *,
        required: str = "",
    ) -> T:
        """`table[key]` converted; `convert` raises ValueError with the message to show."""
        if key not in table:
            if required:
                self.error(section, key, f"missing; {required}")
            return default
        try:
            return convert(table[key])
        except ValueError as exc:
            self.error(section, key, str(exc))
            return default

    # -- the whole file ---------------------------------------------------------------------

    def build(self, data: Mapping[str, Any], *, source: Path) -> Config | None:
        self.secrets(data, "")
        for name, value in data.items():
            if name not in _KNOWN and not _SECRET_KEY.search(name):
                close = _close_matches(name, list(_KNOWN))
                hint = f"did you mean [{close[0]}]? " if close else ""
                kind = "section" if isinstance(value, dict) else "key"
                self.problems.append(
                    Problem(
                        f"{self.shown} [{name}]" if kind == "section" else f"{self.shown} {name}",
                        f"unknown {kind}, ignored ({hint}known: {', '.join(_KNOWN)})",
                        "warning",
                    )
                )
        district = self.district(data)
        roster = self.roster(data)
        calendar = self.calendar(data)
        meetings = self.meetings(data)
        rules = self.table(data, "rules")
        self.unknown("rules", rules, _KNOWN["rules"])
        rules_path = self.get(rules, "rules", "path", self.existing_file, None)
        rooms = self.rooms(data)
        graph = self.graph(data)
        state = self.table(data, "state")
        self.unknown("state", state, _KNOWN["state"])
        state_path = self.get(state, "state", "path", self.path, None)
        safety_table = self.table(data, "safety")
        self.unknown("safety", safety_table, _KNOWN["safety"])
        safety = SafetySettings(
            max_cancellations=self.get(
                safety_table,
                "safety",
                "max_cancellations",
                _whole(minimum=0),
                SafetySettings().max_cancellations,
            )
        )
        delivery = self.delivery(data)
        privacy = self.privacy(data)
        if district is None or roster is None or calendar is None:
            return None
        return Config(
            source=source,
            district=district,
            roster=roster,
            calendar=calendar,
            meetings=meetings,
            rules_path=rules_path,
            rooms=rooms,
            graph=graph,
            state=StateSettings(state_path) if state_path else None,
            safety=safety,
            delivery=delivery,
            privacy=privacy,
            warnings=tuple(p for p in self.problems if p.severity == "warning"),
        )

    # -- sections ---------------------------------------------------------------------------

    def district(self, data: Mapping[str, Any]) -> DistrictSettings | None:
        table = self.table(data, "district", required=True)
        if "district" not in data:
            return None
        self.unknown("district", table, _KNOWN["district"])
        name = self.get(
            table,
            "district",
            "name",
            _text,
            "",
            required='the district or cooperative name, e.g. name = "Prairie Valley Cooperative"',
        )
        timezone = self.get(
            table,
            "district",
            "timezone",
            _timezone,
            "",
            required='an IANA time zone, e.g. timezone = "America/Chicago"',
        )
        if not name or not timezone:
            return None
        return DistrictSettings(name=name, timezone=timezone)

    def roster(self, data: Mapping[str, Any]) -> RosterSettings | None:
        table = self.table(data, "roster", required=True)
        if "roster" not in data:
            return None
        self.unknown("roster", table, _KNOWN["roster"])
        path = self.get(
            table,
            "roster",
            "path",
            self.existing_file,
            None,
            required='the roster CSV, e.g. path = "roster.csv"',
        )
        columns = self.string_table(self.table(table, "roster.columns"), "roster.columns")
        return RosterSettings(path=path, columns=columns) if path else None

    def calendar(self, data: Mapping[str, Any]) -> CalendarSettings | None:
        table = self.table(data, "calendar", required=True)
        if "calendar" not in data:
            return None
        self.unknown("calendar", table, _KNOWN["calendar"])
        path = self.get(table, "calendar", "path", self.existing_file, None)
        buildings: dict[str, Path] = {}
        seen: dict[str, str] = {}
        for name, value in self.table(table, "calendar.buildings").items():
            key = _quote_key(name)
            other = seen.setdefault(building_key(name), name)
            if other != name:
                self.error("calendar.buildings", key, f"the same building as {other!r}; keep one")
                continue
            try:
                buildings[name] = self.existing_file(value)
            except ValueError as exc:
                self.error("calendar.buildings", key, str(exc))
        ics = self.ics(table)
        if path is not None and ics is not None:
            self.error(
                "calendar.ics",
                "",
                "give the default calendar either as [calendar] path or as [calendar.ics], "
                "not both",
            )
        if path is None and ics is None and not buildings and "path" not in table:
            self.error(
                "calendar",
                "path",
                'missing; give the default school calendar (path = "calendars/district.toml"), '
                "a calendar per building in [calendar.buildings], or an ICS feed in [calendar.ics]",
            )
        return CalendarSettings(path=path, buildings=buildings, ics=ics)

    def ics(self, calendar: Mapping[str, Any]) -> IcsFeedSettings | None:
        if "ics" not in calendar:
            return None
        table = self.table(calendar, "calendar.ics")
        self.unknown("calendar.ics", table, _ICS_KEYS)
        path = self.get(
            table,
            "calendar.ics",
            "path",
            self.existing_file,
            None,
            required='the exported feed, e.g. path = "calendars/district.ics"',
        )
        patterns = self.get(
            table,
            "calendar.ics",
            "closure_patterns",
            _text_list(nonempty=True),
            None,
        )
        first = self.get(table, "calendar.ics", "first_day", _date, None)
        last = self.get(table, "calendar.ics", "last_day", _date, None)
        if first and last and last <= first:
            self.error("calendar.ics", "last_day", "must be after first_day")
        if path is None:
            return None
        if patterns is None:
            return IcsFeedSettings(path=path, first_day=first, last_day=last)
        return IcsFeedSettings(path=path, closure_patterns=patterns, first_day=first, last_day=last)

    def meetings(self, data: Mapping[str, Any]) -> MeetingSettings:
        table = self.table(data, "meetings")
        self.unknown("meetings", table, _KNOWN["meetings"])
        base = MeetingSettings()
        return MeetingSettings(
            slots=self.get(table, "meetings", "slots", _slots, base.slots),
            duration_minutes=self.get(
                table,
                "meetings",
                "duration_minutes",
                _whole(minimum=5, maximum=480),
                base.duration_minutes,
            ),
            max_per_day=self.get(
                table, "meetings", "max_per_day", _whole(minimum=1), base.max_per_day
            ),
        )

    def rooms(self, data: Mapping[str, Any]) -> BuildingMap:
        rooms = BuildingMap()
        seen: dict[str, str] = {}
        for name, value in self.table(data, "rooms").items():
            key = _quote_key(name)
            if _SECRET_KEY.search(name):
                continue
            other = seen.setdefault(building_key(name), name)
            if other != name:
                self.error("rooms", key, f"the same building as {other!r}; keep one")
                continue
            try:
                rooms[name] = _email(value)
            except ValueError as exc:
                self.error("rooms", key, str(exc))
        return rooms

    def graph(self, data: Mapping[str, Any]) -> GraphSettings:
        table = self.table(data, "graph")
        self.unknown("graph", table, _KNOWN["graph"])
        base = GraphSettings()
        return GraphSettings(
            tenant_id=self.get(table, "graph", "tenant_id", _text_or_empty, base.tenant_id),
            client_id=self.get(table, "graph", "client_id", _text_or_empty, base.client_id),
            authority=self.get(table, "graph", "authority", _url, base.authority),
            endpoint=self.get(table, "graph", "endpoint", _url, base.endpoint).rstrip("/"),
            certificate_path=self.get(table, "graph", "certificate_path", self.path, None),
            max_concurrency_per_mailbox=self.get(
                table,
                "graph",
                "max_concurrency_per_mailbox",
                _whole(
                    minimum=1,
                    maximum=4,
                    why="Exchange Online allows 4 concurrent requests per mailbox",
                ),
                base.max_concurrency_per_mailbox,
            ),
            token_cache_path=self.get(table, "graph", "token_cache_path", self.path, None),
        )

    def delivery(self, data: Mapping[str, Any]) -> DeliverySettings:
        table = self.table(data, "delivery")
        self.unknown("delivery", table, _KNOWN["delivery"])
        base = DeliverySettings()
        return DeliverySettings(
            tasks=self.get(table, "delivery", "tasks", _tasks, base.tasks),
            booking_horizon_days=self.get(
                table,
                "delivery",
                "booking_horizon_days",
                _whole(minimum=1),
                base.booking_horizon_days,
            ),
            todo_list_name=self.get(
                table, "delivery", "todo_list_name", _text, base.todo_list_name
            ),
            category=self.get(table, "delivery", "category", _text, base.category),
            reminder_time=self.get(table, "delivery", "reminder_time", _time, base.reminder_time),
        )

    def privacy(self, data: Mapping[str, Any]) -> PrivacySettings:
        table = self.table(data, "privacy")
        self.unknown("privacy", table, _KNOWN["privacy"])
        base = PrivacySettings()
        return PrivacySettings(
            subject_template=self.get(
                table, "privacy", "subject_template", _template, base.subject_template
            ),
            meeting_subject_template=self.get(
                table,
                "privacy",
                "meeting_subject_template",
                _template,
                base.meeting_subject_template,
            ),
        )

    # -- converters that need the config folder ---------------------------------------------

    def path(self, value: Any) -> Path:
        text = _text(value)
        return (self.base / text).resolve()

    def existing_file(self, value: Any) -> Path:
        path = self.path(value)
        if not path.is_file():
            raise ValueError(
                f"file not found: {display_path(path)} (relative paths are relative to the "
                "config file's folder)"
            )
        return path

    def string_table(self, table: Mapping[str, Any], section: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in table.items():
            try:
                out[key] = _text(value)
            except ValueError as exc:
                self.error(section, _quote_key(key), str(exc))
        return out


# -- converters: each returns the typed value or raises ValueError with the message to show ----


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {_describe(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _text_or_empty(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {_describe(value)}")
    return value.strip()


def _text_list(*, nonempty: bool) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f'must be a list of text, e.g. ["No School", "Break"], not {value!r}')
        if nonempty and not value:
            raise ValueError("must not be empty")
        return tuple(v.strip() for v in value)

    return convert


def _whole(*, minimum: int, maximum: int | None = None, why: str = "") -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"must be a whole number, not {_describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            reason = f" ({why})" if why else ""
            raise ValueError(f"must be {bound}{reason}, not {value}")
        return value

    return convert


def _time(value: Any) -> dt.time:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'{value!r} is not a time; use "HH:MM" (24-hour), e.g. "07:45"')
    return dt.time(int(match[1]), int(match[2]))


def _slots(value: Any) -> tuple[dt.time, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f'must be a list of start times, e.g. ["07:45", "15:30"], not {value!r}')
    slots: list[dt.time] = []
    for item in value:
        slot = _time(item)
        if slot in slots:
            raise ValueError(f"{item!r} is listed twice")
        slots.append(slot)
    return tuple(slots)


def _timezone(value: Any) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'{name!r} is not an IANA time zone; use a name like "America/Chicago"'
        ) from None
    return name


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"must be a TOML date without quotes, e.g. 2026-08-13, not {value!r}")
    return value


def _email(value: Any) -> str:
    text = _text(value).lower()
    if not EMAIL.match(text):
        raise ValueError(f"{value!r} is not an email address (expected name@example.org)")
    return text


def _url(value: Any) -> str:
    text = _text(value)
    # Plain http only to this machine: the sandbox Graph emulator listens on loopback.
    if text.startswith("https://") or any(
        text.startswith(f"http://{host}") for host in _LOOPBACK_HOSTS
    ):
        return text
    raise ValueError(f"{text!r} must be an https:// URL (http:// only for 127.0.0.1/localhost)")


def _tasks(value: Any) -> Any:
    if value not in ("todo", "calendar"):
        raise ValueError(
            'must be "todo" (Microsoft To Do) or "calendar" (all-day calendar items), '
            f"not {value!r}"
        )
    return value


def _template(value: Any) -> str:
    text = _text(value)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a valid template ({exc}); write a literal {{ or }} as {{{{ or }}}}"
        ) from None
    allowed = ", ".join(f"{{{p}}}" for p in TEMPLATE_PLACEHOLDERS)
    for field in fields:
        if field in TEMPLATE_PLACEHOLDERS:
            continue
        if field.casefold() in _PERSONAL_FIELDS:
            raise ValueError(
                f"{{{field}}} would put personal student data in calendar and task subjects, "
                "which every attendee and lock screen can see; FERPA asks for the minimum "
                f"necessary, so use only {allowed}"
            )
        raise ValueError(f"unknown placeholder {{{field}}}; use only {allowed}")
    return text


def _close_matches(word: str, candidates: Sequence[str]) -> list[str]:
    """A did-you-mean suggestion (difflib is only loaded when a key is wrong)."""
    import difflib

    return difflib.get_close_matches(word, list(candidates), n=1)
