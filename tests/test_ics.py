"""ICS export: golden output, a second parser, stable UIDs, SEQUENCE, privacy and safe files.

Regenerate the golden file after an intended change with:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_ics.py -k golden
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from hostile import NAME_CELLS, hostile_config

from iepsched.core.items import item_key
from iepsched.core.model import (
    DistrictPlan,
    Meeting,
    Milestone,
    Occurrence,
    PlanWarning,
    Student,
    StudentPlan,
)
from iepsched.core.settings import PrivacySettings
from iepsched.inputs.config import load_config
from iepsched.outputs.ics import cycle_ids, export_ics, ics_files, plans_calendar, slugify
from iepsched.service.district import load_district, plan_with_state
from iepsched.state.store import StateStore

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
CHICAGO = ZoneInfo("America/Chicago")
TODAY = dt.date(2026, 11, 30)
STAMP = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _student(sid: str, first: str, last: str, **kw: object) -> Student:
    fields: dict[str, object] = {
        "birth_date": dt.date(2011, 5, 1),
        "building": "Prairie Valley High",
        "case_manager_email": "cm.rivera@pvsec.example.org",
        "lea_email": "j.albrecht@usd901.example.org",
        "due_date": dt.date(2027, 1, 20),
        "gen_ed_emails": ("e.morrow@usd901.example.org",),
        "provider_emails": ("slp.hartley@pvsec.example.org",),
    }
    fields.update(kw)
    return Student(sid, first, last, **fields)  # type: ignore[arg-type]


def _meeting(day: dt.date, hour: int, minute: int, state: str = "booked") -> Meeting:
    start = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)
    return Meeting(day, start, start + dt.timedelta(hours=1), state, "on_track")  # type: ignore[arg-type]


def small_plans() -> tuple[StudentPlan, ...]:
    """Three hand-built plans: a winter meeting (CST), a spring one (CDT), one unplanned."""
    winter = StudentPlan(
        student=_student("S1", "Maya", "Thornbury", reeval_due_date=dt.date(2027, 3, 2)),
        today=TODAY,
        due_date=dt.date(2027, 1, 20),
        next_due_date=dt.date(2028, 1, 5),
        status="on_track",
        meeting=_meeting(dt.date(2027, 1, 6), 15, 30),
        milestones=(
            Milestone(
                "reeval_consent",
                dt.date(2026, 11, 24),
                "task",
                "done",
                "Request consent",
                track="reeval",
            ),
            Milestone(
                "begin_development",
                dt.date(2026, 12, 4),
                "task",
                "upcoming",
                "Begin developing the IEP",
            ),
            Milestone(
                "parent_contact_1",
                dt.date(2026, 12, 16),
                "task",
                "upcoming",
                "Parent contact #1",
                kind="contact",
            ),
            Milestone(
                "staff_invite",
                dt.date(2026, 12, 23),
                "event",
                "upcoming",
                "Invite the LEA representative",
                kind="event",
            ),
            Milestone(
                "meeting", dt.date(2027, 1, 6), "event", "upcoming", "IEP meeting", kind="event"
            ),
            Milestone(
                "progress_monitoring",
                dt.date(2027, 1, 20),
                "recurring_task",
                "upcoming",
                "Monitor progress on IEP goals",
                kind="recurring",
                every_days=14,
                occurrences=(
                    Occurrence(1, dt.date(2027, 1, 20), "done"),
                    Occurrence(2, dt.date(2027, 2, 3), "upcoming"),
                    Occurrence(4, dt.date(2027, 3, 1), "upcoming"),  # #3 was in spring break
                ),
            ),
            Milestone(
                "progress_report:2026-27:Q3",
                dt.date(2027, 3, 19),
                "task",
                "upcoming",
                "Send the progress report home (2026-27 Q3)",
                kind="report",
            ),
        ),
    )
    spring = StudentPlan(
        student=_student("S2", "Elias", "Brandvold", due_date=dt.date(2027, 4, 30)),
        today=TODAY,
        due_date=dt.date(2027, 4, 30),
        next_due_date=dt.date(2028, 4, 12),
        status="on_track",
        meeting=_meeting(dt.date(2027, 4, 13), 7, 45, state="proposed"),
        milestones=(
            Milestone(
                "send_draft",
                dt.date(2027, 4, 9),
                "task",
                "upcoming",
                "Send the draft IEP to the LEA and parents",
            ),
            Milestone(
                "meeting", dt.date(2027, 4, 13), "event", "upcoming", "IEP meeting", kind="event"
            ),
        ),
        cycle_id="2027-04-30-2",
    )
    unplanned = StudentPlan(
        student=_student("S3", "Jasmine", "Oduya", due_date=dt.date(2028, 8, 20)),
        today=TODAY,
        due_date=dt.date(2028, 8, 20),
        next_due_date=None,
        status="unplanned",
        meeting=None,
        milestones=(
            Milestone("begin_development", None, "task", "unscheduled", "Begin developing"),
        ),
        warnings=(
            PlanWarning(
                "unknown_year", "Cannot place the meeting: school year 2028-29 is not loaded."
            ),
        ),
    )
    return winter, spring, unplanned


def small_calendar(**kw: object) -> bytes:
    args: dict[str, object] = {
        "tz_name": "America/Chicago",
        "name": "Golden test",
        "sequence_for": None,
        "stamp": STAMP,
        "rooms": {"Prairie Valley High": "room.pvh@usd901.example.org"},
    }
    args.update(kw)
    return plans_calendar(small_plans(), **args)  # type: ignore[arg-type]


def parse(data: bytes) -> vobject.base.Component:
    """Parse with vobject, a second iCalendar implementation independent of icalendar."""
    components = list(vobject.readComponents(data.decode("utf-8")))
    assert len(components) == 1
    return components[0]


def events(cal: vobject.base.Component) -> list[vobject.base.Component]:
    return list(getattr(cal, "vevent_list", []))


@cache
def sample_plan() -> DistrictPlan:
    """A slice of the sample district (every status, several case managers and buildings);
    small enough that exporting it three ways and parsing it twice stays fast."""
    district = load_district(load_config(ROOT / "config" / "iepsched.toml"))
    plans = plan_with_state(district, today=TODAY).plans
    return DistrictPlan(TODAY, plans[:14] + plans[-1:])


def test_golden_small_plan() -> None:
    """The calendar of a small fixed plan is byte-for-byte the reviewed golden file."""
    golden = GOLDEN / "small_plan.ics"
    data = small_calendar()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(data)
    assert golden.exists(), "no golden file: run with UPDATE_GOLDEN=1 once and review it"
    assert data == golden.read_bytes()


def test_golden_parses_with_vobject() -> None:
    """The golden calendar has a VTIMEZONE and parses in vobject with the expected events."""
    cal = parse((GOLDEN / "small_plan.ics").read_bytes())
    assert cal.vtimezone.tzid.value == "America/Chicago"
    uids = [e.uid.value for e in events(cal)]
    assert uids == [
        "S1/2027-01-20/meeting@iepsched",
        "S1/R2027-03-02/reeval_consent@iepsched",
        "S1/2027-01-20/begin_development@iepsched",
        "S1/2027-01-20/parent_contact_1@iepsched",
        "S1/2027-01-20/progress_monitoring/1@iepsched",
        "S1/2027-01-20/progress_monitoring/2@iepsched",
        "S1/2027-01-20/progress_monitoring/4@iepsched",
        "S1/2027-01-20/progress_report:2026-27:Q3@iepsched",
        "S2/2027-04-30-2/meeting@iepsched",
        "S2/2027-04-30-2/send_draft@iepsched",
    ]


def test_meetings_timed_with_zone_deadlines_all_day() -> None:
    """Meetings are timed in the district zone (CST and CDT right); deadlines are all-day."""
    cal = parse(small_calendar())
    by_uid = {e.uid.value: e for e in events(cal)}
    winter = by_uid["S1/2027-01-20/meeting@iepsched"]
    spring = by_uid["S2/2027-04-30-2/meeting@iepsched"]
    assert winter.dtstart.value.utcoffset() == dt.timedelta(hours=-6)
    assert winter.dtstart.value.astimezone(dt.UTC) == dt.datetime(2027, 1, 6, 21, 30, tzinfo=dt.UTC)
    assert spring.dtstart.value.utcoffset() == dt.timedelta(hours=-5)
    assert spring.dtend.value - spring.dtstart.value == dt.timedelta(hours=1)
    assert winter.transp.value == "OPAQUE"
    deadline = by_uid["S1/2027-01-20/begin_development@iepsched"]
    assert type(deadline.dtstart.value) is dt.date
    assert deadline.dtend.value == deadline.dtstart.value + dt.timedelta(days=1)
    assert deadline.transp.value == "TRANSPARENT"


def test_meeting_and_staff_invite_are_not_deadlines() -> None:
    """The meeting and staff_invite milestones become the one timed event, never all-day ones."""
    uids = [e.uid.value for e in events(parse(small_calendar()))]
    assert not any(u.endswith("/staff_invite@iepsched") for u in uids)
    assert sum(u.endswith("/meeting@iepsched") for u in uids) == 2


def test_unplanned_student_has_no_events() -> None:
    """A student whose meeting and milestones have no dates gets no event at all."""
    assert not any(e.uid.value.startswith("S3/") for e in events(parse(small_calendar())))


def test_meeting_status_follows_booking() -> None:
    """A proposed meeting is TENTATIVE, a booked one CONFIRMED; the room's building is the place."""
    by_uid = {e.uid.value: e for e in events(parse(small_calendar()))}
    assert by_uid["S1/2027-01-20/meeting@iepsched"].status.value == "CONFIRMED"
    assert by_uid["S2/2027-04-30-2/meeting@iepsched"].status.value == "TENTATIVE"
    assert (
        by_uid["S1/2027-01-20/meeting@iepsched"].location.value
        == "Prairie Valley High conference room"
    )


def test_progress_monitoring_is_one_event_per_school_day_occurrence() -> None:
    """Each occurrence is its own all-day event on its school day with the sync item's key, its
    own done mark, and no RRULE (a rule would land on weekends and holidays)."""
    data = small_calendar()
    assert b"RRULE" not in data
    by_uid = {e.uid.value: e for e in events(parse(data))}
    found = {
        uid: (e.dtstart.value, e.description.value.endswith(" Done."))
        for uid, e in by_uid.items()
        if "/progress_monitoring" in uid
    }
    assert found == {
        "S1/2027-01-20/progress_monitoring/1@iepsched": (dt.date(2027, 1, 20), True),
        "S1/2027-01-20/progress_monitoring/2@iepsched": (dt.date(2027, 2, 3), False),
        "S1/2027-01-20/progress_monitoring/4@iepsched": (dt.date(2027, 3, 1), False),
    }


def test_private_category_and_sequence_default() -> None:
    """Every event is CLASS:PRIVATE in category IEP with a DTSTAMP; SEQUENCE is 0 by default."""
    for event in events(parse(small_calendar())):
        assert event.getChildValue("class") == "PRIVATE"
        assert event.categories.value == ["IEP"]
        assert event.sequence.value == "0"
        assert event.dtstamp.value == STAMP


def test_summaries_use_privacy_templates() -> None:
    """Summaries follow the [privacy] templates: ids and initials, never names."""
    privacy = PrivacySettings(
        subject_template="[{building}] {title} {student_id}",
        meeting_subject_template="IEP {student_id} {initials}",
    )
    data = small_calendar(privacy=privacy)
    summaries = {e.uid.value: e.summary.value for e in events(parse(data))}
    assert summaries["S1/2027-01-20/meeting@iepsched"] == "IEP S1 M.T."
    assert summaries["S2/2027-04-30-2/send_draft@iepsched"] == (
        "[Prairie Valley High] Send the draft IEP to the LEA and parents S2"
    )
    for name in ("Maya", "Thornbury", "Elias", "Brandvold"):
        assert name.encode() not in data


def _lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    body = data[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in body)
    return body


def test_lines_are_folded_to_75_octets() -> None:
    """Every content line is at most 75 octets (RFC 5545 §3.1), CRLF-terminated, even with
    multi-byte text in long summaries."""
    plan = small_plans()[0]
    long_title = "Ünïcödé " * 30
    plan = dataclasses.replace(plan, milestones=(plan.milestones[1]._replace(title=long_title),))
    data = plans_calendar([plan], tz_name="America/Chicago", name="x", sequence_for=None)
    for line in _lines(data):
        assert len(line) <= 75
    by_uid = {e.uid.value: e for e in events(parse(data))}
    assert by_uid["S1/2027-01-20/begin_development@iepsched"].summary.value.startswith(long_title)


@pytest.fixture(scope="module")
def sample_exports(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, tuple[bytes, vobject.base.Component]]]:
    """Every export mode of the sample district, written once: mode -> file name -> parsed."""
    plan = sample_plan()
    found: dict[str, dict[str, tuple[bytes, vobject.base.Component]]] = {}
    for by in ("case-manager", "building", "all"):
        out = tmp_path_factory.mktemp(by)
        paths = export_ics(
            plan,
            by=by,  # type: ignore[arg-type]
            out_dir=out,
            tz_name="America/Chicago",
            district_name="Sample",
            stamp=STAMP,
        )
        assert sorted(paths) == sorted(out.iterdir())
        found[by] = {p.name: (p.read_bytes(), parse(p.read_bytes())) for p in paths}
    return found


def test_sample_exports_parse_in_vobject(
    sample_exports: dict[str, dict[str, tuple[bytes, vobject.base.Component]]],
) -> None:
    """Every file of every export mode of the sample district parses in vobject, with a
    VTIMEZONE, folded lines and one event per UID; each mode holds the whole plan."""
    all_uids = {e.uid.value for e in events(sample_exports["all"]["all.ics"][1])}
    assert list(sample_exports["all"]) == ["all.ics"]
    assert len(all_uids) > 14 * 15
    for files in sample_exports.values():
        mode_uids: list[str] = []
        for data, cal in files.values():
            assert all(len(line) <= 75 for line in _lines(data))
            assert cal.vtimezone.tzid.value == "America/Chicago"
            mode_uids += [e.uid.value for e in events(cal)]
        assert len(mode_uids) == len(set(mode_uids)) == len(all_uids)
        assert set(mode_uids) == all_uids


def test_uids_are_item_keys_and_stable() -> None:
    """UIDs are sync's item keys and do not change between exports (or with DTSTAMP)."""
    plan = sample_plan()

    def uids(stamp: dt.datetime) -> list[str]:
        data = plans_calendar(
            plan.plans[:8], tz_name="America/Chicago", name="x", sequence_for=None, stamp=stamp
        )
        return [e.uid.value for e in events(parse(data))]

    first = uids(STAMP)
    assert first == uids(STAMP + dt.timedelta(days=3))
    s1001 = plan.plans[3]
    assert s1001.student_id == "S1001"
    annual, _ = cycle_ids(s1001)
    assert f"{item_key('S1001', annual, 'meeting')}@iepsched" in first


def test_sequence_grows_only_when_an_item_changes(tmp_path: Path) -> None:
    """With the state's counter, re-exporting keeps SEQUENCE; a moved meeting bumps only the
    events whose content changed."""
    winter, spring, unplanned = small_plans()

    def sequences(plans: tuple[StudentPlan, ...], store: StateStore) -> dict[str, int]:
        data = plans_calendar(
            plans,
            tz_name="America/Chicago",
            name="x",
            sequence_for=store.ics_sequence,
            stamp=STAMP,
        )
        return {e.uid.value: int(e.sequence.value) for e in events(parse(data))}

    with StateStore(tmp_path / "state.sqlite") as store:
        first = sequences((winter, spring, unplanned), store)
        assert set(first.values()) == {0}
        assert sequences((winter, spring, unplanned), store) == first
        moved = dataclasses.replace(spring, meeting=_meeting(dt.date(2027, 4, 14), 15, 30))
        after = sequences((winter, moved, unplanned), store)
        changed = {uid for uid in after if after[uid] != first[uid]}
        # The meeting moved, and the draft task's description names the meeting date.
        assert changed == {
            "S2/2027-04-30-2/meeting@iepsched",
            "S2/2027-04-30-2/send_draft@iepsched",
        }
        assert all(after[uid] == 1 for uid in changed)
        assert sequences((winter, moved, unplanned), store) == after


def test_sequence_ignores_today_dependent_status() -> None:
    """A milestone turning from upcoming to overdue as days pass is not a content change."""
    winter = small_plans()[0]
    seen: dict[str, str] = {}

    def record(uid: str, content_hash: str) -> int:
        seen.setdefault(uid, content_hash)
        assert seen[uid] == content_hash, uid
        return 0

    plans_calendar([winter], tz_name="America/Chicago", name="x", sequence_for=record)
    later = dataclasses.replace(
        winter,
        today=dt.date(2026, 12, 20),
        milestones=tuple(
            m._replace(status="overdue") if m.status == "upcoming" else m for m in winter.milestones
        ),
    )
    plans_calendar([later], tz_name="America/Chicago", name="x", sequence_for=record)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("cm.rivera@pvsec.example.org", "cm.rivera-at-pvsec.example.org"),
        ("Prairie Valley High", "prairie-valley-high"),
        ("../../etc/passwd", "etc-passwd"),
        ("Escuela Niños / K–8", "escuela-ninos-k-8"),
        ("CON", "_con"),
        ("...", "unnamed"),
        ("<script>", "script"),
    ],
)
def test_slugify_makes_safe_file_names(text: str, slug: str) -> None:
    """File names come from emails and buildings but can never escape the folder or misbehave."""
    assert slugify(text) == slug
    assert re.fullmatch(r"[a-z0-9_][a-z0-9._-]*", slugify(text))


def test_colliding_slugs_get_distinct_files() -> None:
    """Two buildings whose names slug the same still get one file each."""
    winter, spring, _ = small_plans()
    a = dataclasses.replace(winter, student=dataclasses.replace(winter.student, building="A/B"))
    b = dataclasses.replace(spring, student=dataclasses.replace(spring.student, building="A B"))
    files = ics_files(DistrictPlan(TODAY, (a, b)), by="building", district_name="D")
    names = [f.file_name for f in files]
    assert len(set(names)) == 2
    assert all(n.startswith("a-b-") and n.endswith(".ics") for n in names)


def test_export_is_atomic_and_leaves_other_files(tmp_path: Path) -> None:
    """An export replaces its own files whole, leaves no temp files and keeps unrelated files."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "all.ics").write_text("old")
    plan = DistrictPlan(TODAY, small_plans())
    for _ in range(2):
        export_ics(plan, by="all", out_dir=out, tz_name="America/Chicago", district_name="D")
    assert sorted(p.name for p in out.iterdir()) == ["all.ics", "notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "all.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")


def test_export_by_case_manager_and_building_split(
    sample_exports: dict[str, dict[str, tuple[bytes, vobject.base.Component]]],
) -> None:
    """Each case manager (and each building) gets a file holding exactly their students."""
    plan = sample_plan()
    for by, attr in (("case-manager", "case_manager_email"), ("building", "building")):
        keys = {getattr(p.student, attr) for p in plan.plans}
        assert sorted(sample_exports[by]) == sorted(f"{slugify(k)}.ics" for k in keys)
        for key in keys:
            cal = sample_exports[by][f"{slugify(key)}.ics"][1]
            ids = {e.uid.value.split("/")[0] for e in events(cal)}
            assert ids == {
                p.student_id
                for p in plan.plans
                if getattr(p.student, attr) == key and (p.meeting or p.milestones[0].date)
            }


def test_hostile_names_never_reach_the_calendar(tmp_path: Path) -> None:
    """Roster names (formulas, markup, quotes, newlines) never appear; hostile initials stay
    plain text in the summary."""
    district = load_district(load_config(hostile_config(tmp_path)))
    plan = plan_with_state(district, today=TODAY)
    data = plans_calendar(plan.plans, tz_name="America/Chicago", name="x", sequence_for=None)
    text = data.decode("utf-8")
    for cell in NAME_CELLS:
        assert cell not in text
    summaries = {e.summary.value for e in events(parse(data))}
    assert "IEP meeting — H001 =.<." in summaries
    assert "IEP meeting — H004 +.-." in summaries


def _invite_plan(**student: object) -> StudentPlan:
    """S1 of the small plan, 15 at the meeting, with an invite_student step."""
    winter = small_plans()[0]
    invite = Milestone(
        "invite_student", dt.date(2026, 12, 23), "task", "upcoming", "Invite the student"
    )
    return dataclasses.replace(
        winter,
        student=dataclasses.replace(winter.student, **student),  # type: ignore[arg-type]
        milestones=(*winter.milestones, invite),
    )


def _meeting_description(plan: StudentPlan) -> str:
    data = plans_calendar(
        (plan,), tz_name="America/Chicago", name="t", sequence_for=None, stamp=STAMP
    )
    by_uid = {e.uid.value: e for e in events(parse(data))}
    return str(by_uid["S1/2027-01-20/meeting@iepsched"].description.value)


def test_student_without_email_is_not_said_to_be_invited() -> None:
    """A 14+ student with no email is no attendee: the event says to invite them in person."""
    text = _meeting_description(_invite_plan(student_email=""))
    assert "The student is invited" not in text
    assert "Invite the student (14 or older) in person" in text


def test_student_with_email_is_said_to_be_invited() -> None:
    """A 14+ student with an email is an attendee of the Outlook event, and the ICS says so."""
    text = _meeting_description(_invite_plan(student_email="maya@students.example.org"))
    assert "The student is invited (14 or older)." in text
    assert "in person" not in text
