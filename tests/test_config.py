"""The main config (SPEC §2.1): one validated object, all problems at once, each located."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from iepsched.core.errors import UserError
from iepsched.core.model import Student
from iepsched.core.rules import DEFAULT_RULES
from iepsched.inputs.config import check_rooms, load_config, load_rules, load_rules_checked

CORPUS = Path(__file__).parent / "corpus" / "config"
REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)


def problems_of(name: str) -> list[str]:
    with pytest.raises(UserError) as caught:
        load_config(Path(name))
    return [str(p) for p in caught.value.problems]


def test_minimal_config_from_the_spec() -> None:
    """The SPEC §2.1 minimal example loads, with defaults for everything else."""
    config = load_config(Path("minimal.toml"))
    assert config.source == CORPUS / "minimal.toml"
    assert config.district.name == "Example Cooperative"
    assert config.district.tz.utcoffset(dt.datetime(2026, 1, 1)) == dt.timedelta(hours=-6)
    assert config.roster.path == CORPUS / "roster.csv"
    assert config.roster.columns == {}
    assert config.calendar.path == CORPUS / "calendar.toml"
    assert config.calendar.buildings == {} and config.calendar.ics is None
    assert config.meetings.slots == (dt.time(7, 45), dt.time(15, 30))
    assert (config.meetings.duration_minutes, config.meetings.max_per_day) == (60, 2)
    assert config.rules_path is None and config.rooms == {}
    assert config.graph.endpoint == "https://graph.microsoft.com/v1.0"
    assert config.state_path == CORPUS / "iepsched-state.sqlite"
    assert config.safety.max_cancellations == 10
    assert config.delivery.tasks == "todo"
    assert config.warnings == ()


def test_every_key_is_read() -> None:
    """Every documented key reaches the typed object; relative paths resolve beside the file."""
    config = load_config(Path("full.toml"))
    assert config.district.timezone == "America/Denver"
    assert config.roster.columns == {"student_id": "State ID"}
    assert config.calendar.buildings == {"South Elementary": CORPUS / "calendar.toml"}
    assert config.meetings.slots == (dt.time(8, 0), dt.time(14, 45), dt.time(16, 0))
    assert (config.meetings.duration_minutes, config.meetings.max_per_day) == (45, 3)
    assert config.meetings.providers_required is True
    assert config.calendar.unlisted_buildings == "default"
    assert config.rules_path == REPO / "config" / "rules.toml"
    assert config.rooms == {"North High": "room.north@district.example.org"}
    graph = config.graph
    assert graph.tenant_id == "11111111-2222-3333-4444-555555555555"
    assert graph.client_id == "66666666-7777-8888-9999-000000000000"
    assert graph.authority == "http://127.0.0.1:8765/11111111-2222-3333-4444-555555555555"
    assert graph.endpoint == "http://127.0.0.1:8765/v1.0"
    assert graph.certificate_path == CORPUS / "certs" / "app.pem"
    assert graph.max_concurrency_per_mailbox == 2
    assert graph.token_cache_path == CORPUS / "state" / "token-cache.json"
    assert config.state_path == CORPUS / "state" / "iepsched.sqlite"
    assert config.safety.max_cancellations == 25
    delivery = config.delivery
    assert (delivery.tasks, delivery.booking_horizon_days) == ("calendar", 45)
    assert (delivery.todo_list_name, delivery.category) == ("IEP tasks", "Special education")
    assert delivery.reminder_time == dt.time(6, 45)
    assert config.privacy.subject_template == "{title} ({student_id}, {building})"
    assert config.privacy.meeting_subject_template == "IEP {initials} {student_id}"


def test_every_problem_at_once() -> None:
    """All errors of a file come back together, each naming file, section and key."""
    allowed = "{student_id}, {initials}, {title}, {building}"
    assert problems_of("many_errors.toml") == [
        "many_errors.toml [district] name: must not be empty",
        "many_errors.toml [district] timezone: 'America/Wichita' is not an IANA time zone; "
        'use a name like "America/Chicago"',
        "many_errors.toml [roster] path: file not found: no-such-roster.csv (relative paths are "
        "relative to the config file's folder)",
        'many_errors.toml [calendar.buildings] "North High": file not found: '
        "calendars/north.toml (relative paths are relative to the config file's folder)",
        "many_errors.toml [meetings] slots: '7:45am' is not a time; use \"HH:MM\" (24-hour), "
        'e.g. "07:45"',
        "many_errors.toml [meetings] duration_minutes: must be a whole number, not the text '60'",
        "many_errors.toml [meetings] max_per_day: must be >= 1, not 0",
        "many_errors.toml [graph] endpoint: 'http://graph.example.org/v1.0' must be an https:// "
        "URL (http:// only for 127.0.0.1/localhost)",
        "many_errors.toml [graph] max_concurrency_per_mailbox: must be between 1 and 4 (Exchange "
        "Online allows 4 concurrent requests per mailbox), not 10",
        'many_errors.toml [delivery] tasks: must be "todo" (Microsoft To Do) or "calendar" '
        "(all-day calendar items), not 'planner'",
        "many_errors.toml [delivery] reminder_time: '25:00' is not a time; use \"HH:MM\" "
        '(24-hour), e.g. "07:45"',
        "many_errors.toml [privacy] subject_template: {first_name} would put personal student "
        "data in calendar and task subjects, which every attendee and lock screen can see; "
        f"FERPA asks for the minimum necessary, so use only {allowed}",
        "many_errors.toml [privacy] meeting_subject_template: unknown placeholder "
        f"{{disability_category}}; use only {allowed}",
    ]


def test_secrets_are_refused() -> None:
    """A secret in the config is an error pointing at the environment variable to use instead."""
    assert problems_of("secrets.toml") == [
        "secrets.toml [graph] client_secret: secrets must not be stored in the config file: "
        "delete this key; set the environment variable IEPSCHED_CLIENT_SECRET where iepsched runs",
        "secrets.toml [graph] certificate_password: secrets must not be stored in the config "
        "file: delete this key; set the environment variable IEPSCHED_CERTIFICATE_PASSWORD where "
        "iepsched runs",
        "secrets.toml [smtp] password: secrets must not be stored in the config file: delete this "
        "key; iepsched reads its only secrets from the environment (IEPSCHED_CLIENT_SECRET, "
        "IEPSCHED_CERTIFICATE_PASSWORD)",
    ]


def test_unknown_keys_are_warnings() -> None:
    """Typos load with warnings (and a 'did you mean'), so a nightly run is not stopped by them."""
    config = load_config(Path("unknown_keys.toml"))
    known = "district, roster, calendar, meetings, rules, graph, state, safety, rooms, delivery"
    assert [f"{p.severity}: {p}" for p in config.warnings] == [
        f"warning: unknown_keys.toml [meeting]: unknown section, ignored (did you mean "
        f"[meetings]? known: {known}, privacy)",
        "warning: unknown_keys.toml [district] zone: unknown key, ignored (did you mean "
        "timezone? known: name, timezone, installation)",
        "warning: unknown_keys.toml [safety] max_cancelations: unknown key, ignored (did you "
        "mean max_cancellations? known: max_cancellations, missing_students)",
        "warning: unknown_keys.toml [safety] owner: unknown key, ignored (known: "
        "max_cancellations, missing_students)",
    ]
    assert config.meetings.slots == (dt.time(7, 45), dt.time(15, 30))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "missing_sections.toml",
            [
                "missing_sections.toml [district]: missing section; add it with "
                'name = "..." and timezone = "America/Chicago"',
                'missing_sections.toml [roster]: missing section; add it with path = "roster.csv"',
                "missing_sections.toml [calendar]: missing section; add it with "
                'path = "calendars/district.toml" (the default school calendar)',
            ],
        ),
        (
            "invalid_syntax.toml",
            [
                "invalid_syntax.toml: is not valid TOML: Illegal character '\\n' "
                "(at line 2, column 28)"
            ],
        ),
        (
            "both_calendars.toml",
            [
                "both_calendars.toml [calendar.ics] last_day: must be a TOML date without quotes, "
                "e.g. 2026-08-13, not '2027-05-21'",
                "both_calendars.toml [calendar.ics]: give the default calendar either as "
                "[calendar] path or as [calendar.ics], not both",
            ],
        ),
    ],
)
def test_broken_configs(name: str, expected: list[str]) -> None:
    """Structurally broken configs name what is missing and how to add it."""
    assert problems_of(name) == expected


def test_missing_file_says_where_it_looked() -> None:
    """A missing config names the path tried and both ways to point at another file."""
    (message,) = problems_of("nowhere.toml")
    assert message == (
        f"nowhere.toml: config file not found (looked for {CORPUS / 'nowhere.toml'}). Point at "
        "another file with `iepsched --config PATH ...` or the IEPSCHED_CONFIG environment "
        "variable; config/iepsched.toml in the iepsched repository is a complete example."
    )


def test_ics_and_buildings() -> None:
    """[calendar.ics] gives the default calendar; its patterns and dates are read."""
    config = load_config(Path("ics.toml"))
    assert config.calendar.path is None
    assert config.calendar.ics is not None
    assert config.calendar.ics.path == CORPUS / "district.ics"
    assert config.calendar.ics.closure_patterns == ("No School", "Break", "Teacher Work Day")
    assert config.calendar.buildings == {"south elementary": CORPUS / "calendar.toml"}


@pytest.mark.parametrize(
    "template",
    ["{title} — {student_id} {initials}", "IEP {building}: {student_id}", "Plain subject"],
)
def test_allowed_templates(tmp_path: Path, template: str) -> None:
    """Templates using only the FERPA-minimum placeholders are accepted as written."""
    config_file = tmp_path / "c.toml"
    config_file.write_text(
        (CORPUS / "minimal.toml")
        .read_text()
        .replace('"roster.csv"', f'"{CORPUS}/roster.csv"')
        .replace('"calendar.toml"', f'"{CORPUS}/calendar.toml"')
        + f"\n[privacy]\nsubject_template = {template!r}\n",
        encoding="utf-8",
    )
    assert load_config(config_file).privacy.subject_template == template


def test_rules_default_and_file() -> None:
    """Without [rules] the built-in rules apply; the sample rules.toml equals them."""
    assert load_rules(load_config(Path("minimal.toml"))) is DEFAULT_RULES
    rules, warnings = load_rules_checked(load_config(Path("full.toml")))
    assert rules == DEFAULT_RULES and warnings == ()


def test_rules_errors_and_warnings(tmp_path: Path) -> None:
    """A rules file's errors raise UserError; its unknown keys come back as warnings."""
    rules_file = tmp_path / "rules.toml"
    config = replace(load_config(Path("minimal.toml")), rules_path=rules_file)
    rules_file.write_text('[milestones.draft_iep]\nrule = "school(M, -3)"\ncolour = "red"\n')
    _, warnings = load_rules_checked(config)
    assert [p.where.split(" ", 1)[1] for p in warnings] == ["[milestones.draft_iep] colour"]
    rules_file.write_text('[milestones.draft_iep]\nrule = "someday"\n')
    with pytest.raises(UserError) as caught:
        load_rules(config)
    assert "'someday' is not a date rule" in str(caught.value)


def test_rooms_typo_warns() -> None:
    """A [rooms] building that no student is in is a warning (the room would never be booked)."""
    config = load_config(Path("full.toml"))
    student = Student(
        student_id="S1",
        first_name="A",
        last_name="B",
        birth_date=dt.date(2012, 1, 1),
        building="South Elementary",
        case_manager_email="cm@x.example.org",
        lea_email="lea@x.example.org",
        due_date=dt.date(2027, 1, 1),
    )
    assert [str(p) for p in check_rooms(config, [student])] == [
        'full.toml [rooms] "North High": no student in the roster is in this building; check the '
        "spelling (roster buildings: South Elementary)"
    ]


def test_rooms_match_buildings_in_any_case() -> None:
    """A room is found for the roster's spelling of its building (case and spacing ignored)."""
    rooms = load_config(Path("full.toml")).rooms
    assert rooms == {"North High": "room.north@district.example.org"}
    assert rooms.get("north  HIGH") == "room.north@district.example.org"
    assert rooms["NORTH HIGH"] == "room.north@district.example.org"
    assert "North high" in rooms and "South High" not in rooms
    assert rooms.get("South High", "") == ""
    with pytest.raises(KeyError):
        rooms["South High"]
