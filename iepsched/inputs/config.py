"""Read the main config (SPEC §2.1) into one validated `Config` (STYLE habit 10).

Every problem in the file is collected and raised together as one `UserError`, each naming the
file, section and key (``config/iepsched.toml [meetings] slots``), so a coordinator fixes them in
one pass instead of one per run. Unknown sections and keys are warnings (`Config.warnings`): a typo
must not stop a nightly sync, but it must be visible.

Relative paths in the file are relative to the file's folder, not to wherever iepsched was started.

This module reads the sections and the rules file; `config_reader` holds the problem-collecting
machinery, `config_values` the converters, `config_graph` the `[graph]` section (the one place
Graph settings are validated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ..core.errors import Problem, UserError
from ..core.model import MeetingSettings, Student
from ..core.rules import DEFAULT_RULES, Rules, rules_from_toml
from ..core.settings import (
    CalendarSettings,
    Config,
    DeliverySettings,
    DistrictSettings,
    IcsFeedSettings,
    PrivacySettings,
    RosterSettings,
    SafetySettings,
    StateSettings,
)
from .config_graph import GRAPH_KEYS, read_graph, require_graph
from .config_reader import Reader
from .config_values import (
    EMAIL,
    SECRET_KEY,
    TEMPLATE_PLACEHOLDERS,
    building_key,
    close_matches,
    date_value,
    display_path,
    email_address,
    installation_id,
    missing_students_value,
    nonempty_text,
    quote_key,
    read_toml,
    slot_list,
    tasks_value,
    template,
    text_list,
    time_of_day,
    timezone_name,
    true_or_false,
    unlisted_value,
    whole,
)

# Names other modules import from here (the config loader's public face).
__all__ = [
    "EMAIL",
    "TEMPLATE_PLACEHOLDERS",
    "BuildingMap",
    "building_key",
    "check_rooms",
    "display_path",
    "load_config",
    "load_rules",
    "load_rules_checked",
    "read_toml",
    "require_graph",
    "unmatched_buildings",
]

# What each section may contain; anything else is warned about (with a "did you mean").
_KNOWN: dict[str, tuple[str, ...]] = {
    "district": ("name", "timezone", "installation"),
    "roster": ("path", "columns"),
    "calendar": ("path", "buildings", "ics", "unlisted_buildings"),
    "meetings": ("slots", "duration_minutes", "max_per_day", "providers_required"),
    "rules": ("path",),
    "graph": GRAPH_KEYS,
    "state": ("path",),
    "safety": ("max_cancellations", "missing_students"),
    "rooms": (),  # free-form: building name -> room mailbox
    "delivery": ("tasks", "booking_horizon_days", "todo_list_name", "category", "reminder_time"),
    "privacy": ("subject_template", "meeting_subject_template"),
}
_ICS_KEYS = ("path", "closure_patterns", "first_day", "last_day")


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
    reader = _ConfigReader(shown=shown, base=path.resolve().parent)
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
    roster = {building_key(name): name for name in {s.building for s in students}}
    listed = ", ".join(sorted(roster.values()))
    return [
        Problem(
            f"{where} {quote_key(name)}",
            f"no student in the roster is in this building; check the spelling "
            f"(roster buildings: {listed})",
            "warning",
        )
        for name in names
        if building_key(name) not in roster
    ]


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


class _ConfigReader(Reader):
    """Reads one whole config file: every section, every problem collected."""

    # -- the whole file ---------------------------------------------------------------------

    def build(self, data: Mapping[str, Any], *, source: Path) -> Config | None:
        self.secrets(data, "")
        for name, value in data.items():
            if name not in _KNOWN and not SECRET_KEY.search(name):
                close = close_matches(name, list(_KNOWN))
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
        graph = read_graph(self, data)
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
                whole(minimum=0),
                SafetySettings().max_cancellations,
            ),
            missing_students=self.get(
                safety_table,
                "safety",
                "missing_students",
                missing_students_value,
                SafetySettings().missing_students,
            ),
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
            nonempty_text,
            "",
            required='the district or cooperative name, e.g. name = "Prairie Valley Cooperative"',
        )
        timezone = self.get(
            table,
            "district",
            "timezone",
            timezone_name,
            "",
            required='an IANA time zone, e.g. timezone = "America/Chicago"',
        )
        if not name or not timezone:
            return None
        # Derived from the config, not the state file: a lost state still knows its own items.
        try:
            derived: str | None = installation_id(name)
        except ValueError:
            derived = None  # a name of punctuation only: the key must then be given
        installation = self.get(table, "district", "installation", installation_id, derived)
        if installation is None:
            self.error(
                "district",
                "installation",
                "missing: the district name has no letters or digits to derive it from; set "
                'e.g. installation = "prairie-valley"',
            )
            return None
        return DistrictSettings(name=name, timezone=timezone, installation=installation)

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
            key = quote_key(name)
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
        # SPEC §2.1: the default calendar serves the buildings [calendar.buildings] does not
        # list; a roster building close to a listed name is warned about as a likely misspelling
        # (and "error" refuses every unlisted building). Without a default calendar an unlisted
        # building cannot be planned at all.
        absent: Literal["default", "error"] = (
            "default" if path is not None or ics is not None or not buildings else "error"
        )
        unlisted = self.get(table, "calendar", "unlisted_buildings", unlisted_value, absent)
        if unlisted == "default" and path is None and ics is None and "unlisted_buildings" in table:
            self.error(
                "calendar",
                "unlisted_buildings",
                '"default" needs a default calendar: set [calendar] path (or [calendar.ics])',
            )
        return CalendarSettings(
            path=path, buildings=buildings, ics=ics, unlisted_buildings=unlisted
        )

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
            text_list(nonempty=True),
            None,
        )
        first = self.get(table, "calendar.ics", "first_day", date_value, None)
        last = self.get(table, "calendar.ics", "last_day", date_value, None)
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
            slots=self.get(table, "meetings", "slots", slot_list, base.slots),
            duration_minutes=self.get(
                table,
                "meetings",
                "duration_minutes",
                whole(minimum=5, maximum=480),
                base.duration_minutes,
            ),
            max_per_day=self.get(
                table, "meetings", "max_per_day", whole(minimum=1), base.max_per_day
            ),
            providers_required=self.get(
                table, "meetings", "providers_required", true_or_false, base.providers_required
            ),
        )

    def rooms(self, data: Mapping[str, Any]) -> BuildingMap:
        rooms = BuildingMap()
        seen: dict[str, str] = {}
        for name, value in self.table(data, "rooms").items():
            key = quote_key(name)
            if SECRET_KEY.search(name):
                continue
            other = seen.setdefault(building_key(name), name)
            if other != name:
                self.error("rooms", key, f"the same building as {other!r}; keep one")
                continue
            try:
                rooms[name] = email_address(value)
            except ValueError as exc:
                self.error("rooms", key, str(exc))
        return rooms

    def delivery(self, data: Mapping[str, Any]) -> DeliverySettings:
        table = self.table(data, "delivery")
        self.unknown("delivery", table, _KNOWN["delivery"])
        base = DeliverySettings()
        return DeliverySettings(
            tasks=self.get(table, "delivery", "tasks", tasks_value, base.tasks),
            booking_horizon_days=self.get(
                table,
                "delivery",
                "booking_horizon_days",
                whole(minimum=1),
                base.booking_horizon_days,
            ),
            todo_list_name=self.get(
                table, "delivery", "todo_list_name", nonempty_text, base.todo_list_name
            ),
            category=self.get(table, "delivery", "category", nonempty_text, base.category),
            reminder_time=self.get(
                table, "delivery", "reminder_time", time_of_day, base.reminder_time
            ),
        )

    def privacy(self, data: Mapping[str, Any]) -> PrivacySettings:
        table = self.table(data, "privacy")
        self.unknown("privacy", table, _KNOWN["privacy"])
        base = PrivacySettings()
        return PrivacySettings(
            subject_template=self.get(
                table, "privacy", "subject_template", template, base.subject_template
            ),
            meeting_subject_template=self.get(
                table,
                "privacy",
                "meeting_subject_template",
                template,
                base.meeting_subject_template,
            ),
        )
