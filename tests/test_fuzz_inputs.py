"""Issue 8, "prove it": every hand-edited input answers or refuses clearly, whatever it holds.

The school-calendar TOML, the district's ICS feed, the rules TOML, the main config and the
`contact log` arguments are all typed by people. Any input gives either a valid result or a
`UserError` (the CLI: exit 2 with an `error:` line or click's usage message), never another
exception. The roster has its own fuzz file (tests/test_roster_fuzz.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TODAY
from click.testing import CliRunner
from hostile import copy_sample
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from iepsched.cli import main
from iepsched.core.errors import UserError
from iepsched.core.model import CONTACT_METHODS, CONTACT_OUTCOMES
from iepsched.core.rules import DEFAULT_RULES, Rules, parse_rule, rules_from_toml
from iepsched.core.schoolcal import SchoolCalendar
from iepsched.core.settings import Config, IcsFeedSettings
from iepsched.inputs.calendarcheck import check_calendar
from iepsched.inputs.calendars import calendar_from_toml, load_calendar
from iepsched.inputs.config import load_config, load_rules_checked
from iepsched.inputs.icsfeed import calendar_from_ics

# Each target's example budget; the ci profile's 100 is the ceiling (the file stays under ~30 s).
FAST = settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
FILES = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
CLI = settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])

D = dt.date
SAMPLE = Path(__file__).resolve().parent.parent / "config"

# -- TOML values of every type, the edge values first -----------------------------------------

EDGE_DATES = st.sampled_from(
    [D.min, D.max, D(1, 7, 1), D(9999, 6, 30), D(9999, 7, 1), D(2026, 2, 28), D(2026, 8, 13)]
)
DATES = st.one_of(EDGE_DATES, st.dates(), st.dates(D(2024, 7, 1), D(2028, 6, 30)))
SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True),
    st.booleans(),
    DATES,
    st.datetimes(),
    st.times(),
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A plausible value most of the time, any TOML value (or nothing) otherwise."""
    return st.one_of(good, good, good, VALUES)


def table(keys: dict[str, st.SearchStrategy[Any]], extra: list[str]) -> st.SearchStrategy[Any]:
    """A dict with a random subset of `keys` (plus maybe a stray key), or any value at all."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in keys.items():
            if draw(st.integers(0, 5)):  # each key is missing one time in six
                out[key] = draw(mostly(value))
        if extra and draw(st.integers(0, 7)) == 0:
            out[draw(st.sampled_from(extra))] = draw(VALUES)
        return out

    return st.one_of(build(), build(), build(), VALUES)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a nested document a mutation can hit (tables, lists, leaves)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


def mutated(base: dict[str, Any], fresh: st.SearchStrategy[Any] = VALUES) -> Any:
    """`base` with one to three places replaced (by any value, or a date), deleted or added to."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        doc = copy.deepcopy(base)
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(doc)
            if not paths:
                break
            *parent_path, last = draw(st.sampled_from(paths))
            parent = doc
            for step in parent_path:
                parent = parent[step]
            action = draw(st.sampled_from(["replace", "date", "date", "delete", "add"]))
            if action == "replace":
                parent[last] = draw(fresh)
            elif action == "date":
                parent[last] = draw(DATES)
            elif action == "delete":
                del parent[last]
            elif isinstance(parent[last], dict):
                parent[last][draw(st.text(max_size=8))] = draw(fresh)
            elif isinstance(parent[last], list):
                parent[last].append(draw(fresh))
        return doc

    return build()


def to_toml(value: Any) -> str:
    """A TOML rendering of nested dicts/lists/scalars (inline tables; tomllib re-reads it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(max(min(value, 2**63 - 1), -(2**63)))  # TOML integers are 64-bit
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{to_toml(str(k))} = {to_toml(v)}" for k, v in value.items()) + "}"


def _toml_char(c: str) -> str:
    if c in '"\\' or ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) < 0xE000:
        return f"\\u{ord(c):04X}" if not 0xD800 <= ord(c) < 0xE000 else "?"
    return c


def document(data: dict[str, Any]) -> str:
    """A TOML document: top-level keys as `key = value` lines (tables inline)."""
    return "".join(f"{to_toml(str(k))} = {to_toml(v)}\n" for k, v in data.items())


def test_to_toml_round_trips() -> None:
    """The helper renders what tomllib reads back, so the fuzzers test the loaders, not it."""
    data = {
        "a": [D(2026, 8, 13), 1, 'x"\n\\', {"b": True}],
        "c": {"d": 1.5, "é f": dt.time(7, 45)},
    }
    assert tomllib.loads(document(data)) == data


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One folder for the file-based fuzzers (Hypothesis re-runs a test body many times)."""
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


# -- school calendar TOML ----------------------------------------------------------------------

CLOSURE = table(
    {"date": DATES, "start": DATES, "end": DATES, "label": st.text(max_size=10)}, ["when", "Date"]
)
PERIOD = table(
    {"name": st.sampled_from(["Q1", "Q2", ""]), "end": DATES, "report_date": DATES}, ["report"]
)
YEAR = table(
    {
        "name": st.sampled_from(["2026-27", "2025-26", "9999-00", "", "x"]),
        "first_day": DATES,
        "last_day": DATES,
        "closed": st.lists(CLOSURE, max_size=5),
        "grading_periods": st.lists(PERIOD, max_size=3),
    },
    ["closures", "first"],
)
CALENDAR = table({"name": st.text(max_size=10), "years": st.lists(YEAR, max_size=3)}, ["year"])


def exercise(cal: SchoolCalendar) -> None:
    """What `calendar check`, `calendar show` and the planner ask of a loaded calendar."""
    assert cal.name.strip()
    for year in cal.years:
        assert year.first_day < year.last_day
        for day in (year.first_day, year.last_day):
            cal.is_school_day(day)
            cal.day_info(day)


@FAST
@given(data=CALENDAR)
def test_calendar_toml_structures(data: Any) -> None:
    """Plausible-but-wrong calendars (keys missing, types wrong, dates anywhere) load or refuse."""
    if not isinstance(data, dict):
        data = {"years": data}
    try:
        cal = calendar_from_toml(data, shown="fuzz.toml", default_name="fuzz")
    except UserError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    exercise(cal)


SAMPLE_CALENDAR = tomllib.loads(
    (
        Path(__file__).resolve().parent.parent / "config/calendars/usd901-prairie-valley.toml"
    ).read_text(encoding="utf-8")
)


@FAST
@given(data=mutated(SAMPLE_CALENDAR))
def test_calendar_toml_mutations(data: dict[str, Any]) -> None:
    """The sample calendar with a few values changed, deleted or added loads or refuses."""
    try:
        cal = calendar_from_toml(data, shown="fuzz.toml", default_name="fuzz")
    except UserError as exc:
        event("refused")
        assert exc.problems and all(p.message for p in exc.problems)
        return
    event("loaded")
    exercise(cal)
    for problem in check_calendar(cal):
        assert problem.message


@FILES
@given(data=CALENDAR)
def test_calendar_check_never_crashes(data: Any) -> None:
    """Whatever a loaded calendar holds (closures overlapping, out of order), `check` answers."""
    if not isinstance(data, dict):
        return
    try:
        cal = calendar_from_toml(data, shown="fuzz.toml", default_name="fuzz")
    except UserError:
        return
    for problem in check_calendar(cal):
        assert problem.severity in ("error", "warning") and problem.message


@pytest.mark.parametrize(
    "first, last",
    [
        (D(9999, 8, 13), D(9999, 12, 31)),  # its school year would end in year 10000
        (D(1, 1, 3), D(1, 5, 20)),  # its school year would start in year 0
        (D(1, 8, 13), D(2, 5, 20)),  # a real year 1; check asks for holidays that far back
    ],
)
def test_calendar_far_years_are_refused_clearly(first: dt.date, last: dt.date) -> None:
    """A school year at the very ends of the date range is a `UserError`, not an overflow."""
    from iepsched.core.schoolcal import school_year_label

    year = {"name": school_year_label(first), "first_day": first, "last_day": last}
    with pytest.raises(UserError, match="first_day"):
        calendar_from_toml({"years": [year]}, shown="far.toml", default_name="far")


TOML_TEXT = st.one_of(
    st.text(max_size=200),
    st.builds(document, st.dictionaries(st.sampled_from(["name", "years", "x"]), VALUES)),
    CALENDAR.filter(lambda d: isinstance(d, dict)).map(document),
)


@FILES
@given(text=TOML_TEXT, bom=st.booleans())
def test_calendar_file_any_text(scratch: Path, text: str, bom: bool) -> None:
    """Any file content, valid TOML or not, loads as a calendar or raises `UserError`."""
    path = scratch / "calendar.toml"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8", "replace"))
    try:
        exercise(load_calendar(path))
    except UserError as exc:
        assert exc.problems


@FILES
@given(raw=st.binary(max_size=200))
def test_calendar_file_any_bytes(scratch: Path, raw: bytes) -> None:
    """Bytes that are not UTF-8 (or not TOML) are refused with a `UserError`."""
    path = scratch / "calendar.toml"
    path.write_bytes(raw)
    try:
        load_calendar(path)
    except UserError as exc:
        assert exc.problems


# -- the ICS feed ------------------------------------------------------------------------------

ICS_DATE = st.one_of(
    DATES.map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
    st.sampled_from(["00000000", "20261332", "2026-08-13", "", "99991231", "00010101"]),
    st.text("0123456789TZ", max_size=16),
)
ICS_PROP = st.one_of(
    ICS_DATE.map(lambda v: f"DTSTART;VALUE=DATE:{v}"),
    ICS_DATE.map(lambda v: f"DTEND;VALUE=DATE:{v}"),
    ICS_DATE.map(lambda v: f"DTSTART:{v}T080000"),
    ICS_DATE.map(lambda v: f"DTSTART;TZID=Nowhere/City:{v}T080000"),
    st.sampled_from(["P1D", "P3D", "-P2D", "P999999999D", "PT1H", "P", "x", "P1W"]).map(
        lambda v: f"DURATION:{v}"
    ),
    st.sampled_from(["First day", "Last day", "No School", "Winter Break", "", "first DAY x"]).map(
        lambda v: f"SUMMARY:{v}"
    ),
    st.text(max_size=20).map(lambda v: f"SUMMARY:{v}"),
    st.sampled_from(["RRULE:FREQ=DAILY;COUNT=3", "UID:x", "DTSTART", ":::", "BEGIN:VALARM"]),
)


@st.composite
def ics_feed(draw: st.DrawFn) -> bytes:
    """A VCALENDAR of a few VEVENTs, each with random (often broken) properties."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN"]
    for _ in range(draw(st.integers(0, 4))):
        lines.append("BEGIN:VEVENT")
        lines.extend(draw(st.lists(ICS_PROP, max_size=5)))
        if draw(st.integers(0, 9)):  # a VEVENT left open one time in ten
            lines.append("END:VEVENT")
    if draw(st.integers(0, 9)):
        lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode("utf-8", "replace") + b"\r\n"


CORPUS_ICS = (
    (Path(__file__).resolve().parent / "corpus/ics/district.ics").read_text("utf-8").splitlines()
)


@st.composite
def mangled_corpus(draw: st.DrawFn) -> bytes:
    """The corpus feed with a few lines deleted, duplicated, replaced or cut short."""
    lines = list(CORPUS_ICS)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "copy", "replace", "cut"]))
        if action == "delete":
            del lines[at]
        elif action == "copy":
            lines.insert(draw(st.integers(0, len(lines))), lines[at])
        elif action == "replace":
            lines[at] = draw(ICS_PROP)
        else:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        if not lines:
            break
    return "\r\n".join(lines).encode("utf-8", "replace")


ICS_BYTES = st.sampled_from(
    [ics_feed(), mangled_corpus(), mangled_corpus(), st.binary(max_size=300)]
).flatmap(lambda kind: kind)
ICS_SPAN = st.one_of(st.none(), st.tuples(DATES, DATES))


@FILES
@given(raw=ICS_BYTES, span=ICS_SPAN)
def test_ics_feed_any_bytes(
    scratch: Path, raw: bytes, span: tuple[dt.date, dt.date] | None
) -> None:
    """Any feed file (mangled VEVENTs, broken dates, arbitrary bytes) loads or is a `UserError`."""
    path = scratch / "feed.ics"
    path.write_bytes(raw)
    first, last = span if span and span[0] < span[1] else (None, None)
    settings_ = IcsFeedSettings(path=path, first_day=first, last_day=last)
    try:
        cal = calendar_from_ics(settings_, name="fuzz feed")
    except UserError as exc:
        event("refused")
        assert exc.problems
        return
    event("loaded")
    exercise(cal)


def feed(*events: tuple[str, ...]) -> bytes:
    """A VCALENDAR holding one VEVENT per tuple of property lines."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN"]
    for props in events:
        lines += ["BEGIN:VEVENT", *props, "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""]).encode()


FIRST = ("DTSTART;VALUE=DATE:20260813", "SUMMARY:First day of school")
LAST = ("DTSTART;VALUE=DATE:20270521", "SUMMARY:Last day of school")


@pytest.mark.parametrize(
    "raw, span, message",
    [
        (feed(), (D(1, 7, 1), D(9999, 12, 31)), "check the years"),
        (feed(), (D(2026, 8, 13), D(2027, 8, 1)), "after June 30"),
        (
            feed(
                ("DTSTART;VALUE=DATE:20270601", "SUMMARY:First day"),
                ("DTSTART;VALUE=DATE:20260801", "SUMMARY:Last day"),
            ),
            None,
            "not after the first day",
        ),
    ],
    ids=["years-1-to-9999", "crosses-june-30", "last-before-first"],
)
def test_ics_impossible_school_years_are_refused(
    scratch: Path, raw: bytes, span: tuple[dt.date, dt.date] | None, message: str
) -> None:
    """A feed or [calendar.ics] span that is not one school year is a `UserError`, not a crash."""
    path = scratch / "bad-year.ics"
    path.write_bytes(raw)
    first, last = span or (None, None)
    with pytest.raises(UserError, match=message):
        calendar_from_ics(IcsFeedSettings(path=path, first_day=first, last_day=last), "x")


@pytest.mark.parametrize(
    "closure",
    [
        ("DTSTART;VALUE=DATE:20261123", "DURATION:P999999999D", "SUMMARY:No School"),
        ("DTSTART;VALUE=DATE:00010101", "SUMMARY:No School"),
        ("DTSTART;VALUE=DATE:99991231", "DTEND;VALUE=DATE:99991231", "SUMMARY:No School"),
    ],
    ids=["forever", "year-1", "year-9999"],
)
def test_ics_far_closures_do_not_crash(scratch: Path, closure: tuple[str, ...]) -> None:
    """A closure event lasting forever or set in year 1 or 9999 loads (it is only a closure)."""
    path = scratch / "far-closure.ics"
    path.write_bytes(feed(FIRST, LAST, closure))
    cal = calendar_from_ics(IcsFeedSettings(path=path), "x")
    assert cal.is_school_day(D(2026, 8, 13))


# -- the rules TOML ----------------------------------------------------------------------------

RULE_TEXT = st.one_of(
    st.builds(
        lambda op, anchor, n: f"{op}({anchor}, {n})",
        st.sampled_from(["cal", "months", "school", "prev", "days", "weeks", "Cal", ""]),
        st.sampled_from(["M", "DUE", "NEXT_DUE", "R", "X", "m", ""]),
        st.one_of(st.integers(-(10**6), 10**6), st.sampled_from(["+0", "-0", "٣", "1e3", "--1"])),
    ),
    st.builds(lambda a: f"prev({a})", st.sampled_from(["M", "R", "DUE", "", "M, 1"])),
    st.text(max_size=20),
)
MILESTONE = table(
    {
        "rule": RULE_TEXT,
        "title": st.text(max_size=10),
        "adult_title": st.text(max_size=10),
        "delivery": st.sampled_from(["task", "event", "recurring_task", "mail"]),
        "kind": st.sampled_from(["task", "contact", "event", "recurring", "report", "x"]),
        "track": st.sampled_from(["annual", "reeval", "x"]),
        "min_age": st.integers(-5, 200),
        "every_days": st.integers(-5, 10_000),
        "enabled": st.booleans(),
    },
    ["when", "rules"],
)
MILESTONE_KEY = st.one_of(
    st.sampled_from([m.key for m in DEFAULT_RULES.milestones]),
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    st.text(max_size=8),
)
RULES = table(
    {
        "ladder": table(
            {
                "window_days": st.integers(-5, 10_000),
                "buffer_days": st.integers(-5, 10_000),
                "notice_days": st.integers(-5, 100),
                "legal_notice_days": st.integers(-5, 100),
            },
            ["buffer"],
        ),
        "milestones": st.dictionaries(MILESTONE_KEY, MILESTONE, max_size=4),
        "due_soon_days": st.integers(-5, 10**20),
        "contact_deadline": MILESTONE_KEY,
    },
    ["rule", "version"],
)


@FAST
@given(text=RULE_TEXT)
def test_rule_expressions(text: str) -> None:
    """A date expression parses to a rule that prints back the same, or is a ValueError."""
    try:
        rule = parse_rule(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
        return
    assert parse_rule(str(rule)) == rule


@FAST
@given(data=RULES)
def test_rules_toml_structures(data: Any) -> None:
    """Any rules document gives rules and a list of located problems, never an exception."""
    if not isinstance(data, dict):
        data = {"milestones": data}
    rules, problems = rules_from_toml(data, "rules.toml")
    assert isinstance(rules, Rules)
    assert all(p.where.startswith("rules.toml") and p.message for p in problems)
    assert rules.contact_deadline in {m.key for m in rules.milestones}
    assert any(m.key == "meeting" and m.enabled for m in rules.milestones)


RULES_BASE: dict[str, Any] = {
    **tomllib.loads((Path(__file__).resolve().parent.parent / "config/rules.toml").read_text()),
    "milestones": {
        "begin_development": {"rule": "months(M, -2)", "title": "Begin early"},
        "invite_student": {"enabled": False, "min_age": 16},
        "district_checkin": {"rule": "school(M, -7)", "title": "Check in", "kind": "task"},
        "monitor": {
            "rule": "days(M, 7)",
            "title": "Look",
            "delivery": "recurring_task",
            "every_days": 7,
        },
    },
}


@FAST
@given(data=mutated(RULES_BASE, st.one_of(VALUES, RULE_TEXT)))
def test_rules_toml_mutations(data: dict[str, Any]) -> None:
    """A realistic rules file with a few values changed, deleted or added: rules plus problems."""
    rules, problems = rules_from_toml(data, "rules.toml")
    event("has errors" if any(p.severity == "error" for p in problems) else "clean")
    assert isinstance(rules, Rules)
    assert all(p.message for p in problems)


@pytest.fixture(scope="module")
def sample_district() -> Any:
    """The sample district, loaded once: the planner runs it under the fuzzed rules."""
    from iepsched.service.district import load_district

    return load_district(load_config(SAMPLE / "iepsched.toml"))


VALID_RULE = st.builds(
    lambda op, anchor, n: f"prev({anchor})" if op == "prev" else f"{op}({anchor}, {n})",
    st.sampled_from(["cal", "school", "prev", "days"]),
    st.sampled_from(["M", "DUE", "NEXT_DUE", "R"]),
    st.integers(-3660, 3660),
) | st.builds(lambda a, n: f"months({a}, {n})", st.sampled_from(["M", "R"]), st.integers(-120, 120))
ACCEPTED_MILESTONE = st.fixed_dictionaries(
    {"rule": VALID_RULE},
    optional={
        "title": st.text(min_size=1, max_size=5).filter(str.strip),
        "min_age": st.integers(0, 200),
        "enabled": st.booleans(),
        "track": st.sampled_from(["annual", "reeval"]),
    },
)
ACCEPTED_RULES = st.fixed_dictionaries(
    {
        "milestones": st.dictionaries(
            st.sampled_from([m.key for m in DEFAULT_RULES.milestones if m.key != "meeting"]),
            ACCEPTED_MILESTONE,
            max_size=6,
        ),
    },
    optional={
        "ladder": st.fixed_dictionaries(
            {},
            optional={
                k: st.integers(0, 3660)
                for k in ("window_days", "buffer_days", "notice_days", "legal_notice_days")
            },
        ),
        "due_soon_days": st.one_of(st.integers(0, 4000), st.just(10**18)),
    },
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(data=ACCEPTED_RULES)
def test_rules_that_load_can_plan(sample_district: Any, data: dict[str, Any]) -> None:
    """Rules the loader accepts plan the whole sample district and its deliveries, no crash."""
    import dataclasses

    from iepsched.core.items import desired_items
    from iepsched.core.schedule import plan_district

    rules, problems = rules_from_toml(data, "rules.toml")
    if any(p.severity == "error" for p in problems):
        event("refused")
        return
    event("planned")
    ctx = dataclasses.replace(sample_district.ctx, rules=rules)
    plan = plan_district(sample_district.students, ctx, today=D.fromisoformat(TODAY))
    desired_items(plan.plans, sample_district.delivery_options())


@pytest.mark.parametrize(
    "data",
    [
        {"contact_deadline": ["parent_contact_2"]},
        {"contact_deadline": {"a": 1}},
        {"milestones": {"written_notice": {"adult_title": 5}}},
        {"milestones": {"new_step": {"rule": "cal(M, -3)", "title": "x", "adult_title": []}}},
    ],
)
def test_rules_wrong_types_are_problems(data: dict[str, Any]) -> None:
    """A list or table where text belongs is reported as a problem, not a crash."""
    _, problems = rules_from_toml(data, "rules.toml")
    assert [p for p in problems if p.severity == "error"]


# -- the main config ---------------------------------------------------------------------------

PATHS = st.one_of(
    st.sampled_from(
        [
            "roster.csv",
            "calendars/usd901-prairie-valley.toml",
            "rules.toml",
            "../config/roster.csv",
            "../../../../../../etc/passwd",
            "/etc/passwd",
            "/nonexistent/x.csv",
            "",
            " ",
            ".",
            "calendars",
            "roster.csv\x00.txt",
            "x" * 250,  # "x" * 5000 crashes: test_config_path_over_the_os_limit below
            "~/roster.csv",
        ]
    ),
    st.text(max_size=20),
)
CONFIG = table(
    {
        "district": table(
            {
                "name": st.text(max_size=10),
                "timezone": st.sampled_from(
                    ["America/Chicago", "UTC", "Nowhere/City", "../etc", "/etc/localtime", ""]
                ),
            },
            ["tz"],
        ),
        "roster": table(
            {"path": PATHS, "columns": st.dictionaries(st.text(max_size=5), VALUES)}, []
        ),
        "calendar": table(
            {
                "path": PATHS,
                "buildings": st.dictionaries(st.text(max_size=10), PATHS, max_size=3),
                "ics": table(
                    {
                        "path": PATHS,
                        "closure_patterns": st.lists(st.text(max_size=6), max_size=3),
                        "first_day": DATES,
                        "last_day": DATES,
                    },
                    [],
                ),
            },
            ["paths"],
        ),
        "meetings": table(
            {
                "slots": st.lists(st.sampled_from(["07:45", "25:00", "7:5", "x", ""]), max_size=3),
                "duration_minutes": st.integers(-10, 10_000),
                "max_per_day": st.integers(-1, 5),
            },
            ["slot"],
        ),
        "rules": table({"path": PATHS}, []),
        "rooms": st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
        "graph": table(
            {
                "tenant_id": st.text(max_size=10),
                "client_id": st.text(max_size=10),
                "endpoint": st.sampled_from(
                    ["https://graph.microsoft.com/v1.0", "http://127.0.0.1:1", "ftp://x", ""]
                ),
                "max_concurrency_per_mailbox": st.integers(-2, 100),
                "client_secret": st.text(max_size=5),
            },
            ["tenant"],
        ),
        "state": table({"path": PATHS}, []),
        "safety": table({"max_cancellations": st.integers(-5, 10**30)}, []),
        "delivery": table(
            {
                "tasks": st.sampled_from(["todo", "calendar", "mail"]),
                "booking_horizon_days": st.integers(-5, 10**30),
                "todo_list_name": st.text(max_size=10),
                "category": st.text(max_size=10),
                "reminder_time": st.sampled_from(["07:30", "24:00", "x", ""]),
            },
            [],
        ),
        "privacy": table(
            {
                "subject_template": st.sampled_from(
                    ["{title}", "{first_name}", "{", "}", "{0}", "{title!r}", "{title:>99999999}"]
                ),
                "meeting_subject_template": st.text(max_size=12),
            },
            [],
        ),
    },
    ["colour", "distric", "password"],
)


@pytest.fixture(scope="module")
def config_folder(scratch: Path) -> Path:
    """A copy of the sample config/ whose iepsched.toml the config fuzzer overwrites."""
    target = scratch / "cfg" / "config"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("state", "*.sqlite*"))
    return target


def use_config(config: Config) -> None:
    """What every command does right after loading: read the rules file, name the state file."""
    config.state_path  # noqa: B018 - a property every command reads
    try:
        load_rules_checked(config)
    except UserError as exc:
        assert exc.problems


@FILES
@given(data=CONFIG)
def test_config_structures(config_folder: Path, data: Any) -> None:
    """Sections of the wrong type, keys missing or misspelt, paths anywhere: loads or refuses."""
    if not isinstance(data, dict):
        data = {"district": data}
    path = config_folder / "iepsched.toml"
    path.write_text(document(data), encoding="utf-8")
    try:
        config = load_config(path)
    except UserError as exc:
        assert exc.problems and all(p.severity == "error" for p in exc.problems)
        return
    use_config(config)


SAMPLE_DOC = tomllib.loads((SAMPLE / "iepsched.toml").read_text(encoding="utf-8"))


@FILES
@given(data=mutated(SAMPLE_DOC, st.one_of(VALUES, PATHS)))
def test_config_mutations(config_folder: Path, data: dict[str, Any]) -> None:
    """The sample config with a few values changed, deleted or added loads or refuses."""
    path = config_folder / "iepsched.toml"
    path.write_text(document(data), encoding="utf-8")
    try:
        config = load_config(path)
    except UserError as exc:
        event("refused")
        assert exc.problems and all(p.severity == "error" for p in exc.problems)
        return
    event("loaded")
    use_config(config)


@FILES
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.hex())))
def test_config_any_text(config_folder: Path, text: str) -> None:
    """Arbitrary text as the config file is a `UserError` (or, by luck, a config)."""
    path = config_folder / "iepsched.toml"
    path.write_bytes(text.encode("utf-8", "replace"))
    try:
        use_config(load_config(path))
    except UserError as exc:
        assert exc.problems


@pytest.mark.parametrize("section", ["roster", "rules"])
def test_config_path_over_the_os_limit(config_folder: Path, section: str) -> None:
    """A path longer than the system allows is a `UserError` naming the key, not an OSError."""
    data = copy.deepcopy(SAMPLE_DOC)
    data[section] = {"path": "x" * 5000}
    path = config_folder / "iepsched.toml"
    path.write_text(document(data), encoding="utf-8")
    with pytest.raises(UserError, match=rf"\[{section}\] path"):
        load_config(path)


@pytest.mark.parametrize("name", ["missing.toml", "calendars", "missing/iepsched.toml"])
def test_config_missing_file(config_folder: Path, name: str) -> None:
    """A config path that is not a file (missing, a folder) is a `UserError` naming it."""
    with pytest.raises(UserError, match="config file not found"):
        load_config(config_folder / name)


# -- `contact log` arguments -------------------------------------------------------------------

AT = st.one_of(
    st.sampled_from(
        [
            "2026-11-30",
            "2026-11-30T15:45",
            "2026-11-29T23:59:59.999999",
            "2026-03-08T02:30",  # skipped by the spring-forward change in Chicago
            "2026-11-01T01:30",  # repeated by the fall-back change
            "2026-11-30T15:45+14:00",
            "0001-01-01T00:00+14:00",
            "0001-01-01T00:00-14:00",
            "9999-12-31T23:59",
            "9999-12-31T23:59+14:00",
            "9999-12-31T23:59-14:00",
            "0001-01-01",
            "2026-02-30",
            "20261130",
            "2026-W48-1",
            "",
            " ",
        ]
    ),
    st.text(max_size=25),
)
FREE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
GOOD: dict[str, st.SearchStrategy[str]] = {
    "student": st.sampled_from(["S1001", "s1001", "S1036"]),
    "--method": st.sampled_from(CONTACT_METHODS),
    "--outcome": st.sampled_from(CONTACT_OUTCOMES),
    "--with": st.sampled_from(["Renata Thornbury", "Dad", " x ", 'Zoë O\'Brien, "Jr"']),
    "--at": st.dates(D(2025, 1, 1), D(2026, 12, 31)).map(str),
    "--note": st.sampled_from(["", "left a voicemail", "line one\nline two"]),
}
BAD: dict[str, st.SearchStrategy[str]] = {name: FREE for name in GOOD} | {
    "--at": st.one_of(AT, FREE)
}


@st.composite
def contact_args(draw: st.DrawFn) -> dict[str, str]:
    """Every argument valid except zero to two, which are random text (--at: odd times too)."""
    broken = draw(st.sets(st.sampled_from(sorted(GOOD)), max_size=2))
    return {name: draw(BAD[name] if name in broken else GOOD[name]) for name in GOOD}


@pytest.fixture(scope="module")
def contact_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the sample config for the `contact log` fuzzer (its state grows)."""
    return copy_sample(tmp_path_factory.mktemp("contact-fuzz"))


@CLI
@given(given_args=contact_args())
def test_contact_log_arguments(contact_config: Path, given_args: dict[str, str]) -> None:
    """Random --at/--with/--note/--method/--outcome: logged (0) or refused (2), never a crash."""
    args = ["--config", str(contact_config), "contact", "log", given_args.pop("student")]
    for name, value in given_args.items():
        args += [name, value]
    result = CliRunner().invoke(main, [*args, "--today", TODAY])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        event("logged")
        assert result.output.startswith("logged: ")
        return
    event("refused: " + (result.stderr.splitlines() or [""])[-1][:30])
    assert result.exit_code == 2, result.output
    assert "error: " in result.stderr or "Usage:" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00+14:00",  # before the first instant Python can represent in Chicago
        "9999-12-31T23:59-14:00",  # after the last one
        "9999-12-31T23:59",  # local, but its UTC instant is in year 10000
    ],
)
def test_contact_log_at_the_ends_of_time(contact_config: Path, at: str) -> None:
    """An --at Python cannot convert to the district's zone is a usage error, not an overflow."""
    args = ["--config", str(contact_config), "contact", "log", "S1001", "--method", "phone"]
    args += ["--outcome", "reached", "--with", "Dad", "--at", at, "--today", TODAY]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and not isinstance(result.exception, OverflowError)
    assert "--at" in result.stderr
