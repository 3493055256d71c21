"""Desired items: Graph payloads that validate strictly, carry no FERPA data, have stable keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

from iepsched.core.items import (
    METHOD_LABELS,
    DeliveryOptions,
    deliverable,
    desired_items,
    item_key,
    methods_from_checklist,
    transaction_id,
)
from iepsched.core.model import CONTACT_METHODS, BookedMeeting, DecisionMaker, StudentPlan
from iepsched.core.remote import APPLICATION_NAME, KEY_PROPERTY_ID, DesiredItem
from iepsched.core.schedule import plan_district
from iepsched.inputs.config import load_config
from iepsched.m365 import schema as graphschema
from iepsched.service.district import District, load_district

CONFIG = Path(__file__).resolve().parent.parent / "config" / "iepsched.toml"
TODAY = dt.date(2026, 11, 30)
# Nights that between them deliver every kind of item of the sample district (reevaluations,
# progress reports of both years, students invited at 14, a rights transfer at 18).
NIGHTS = (TODAY, dt.date(2027, 3, 1), dt.date(2027, 8, 1))

FIRST, LAST = "Zephyrine", "Quillfeather"
BIRTH = dt.date(2011, 6, 17)
PARENTS = (
    DecisionMaker("Barnaby Ostrowicz", "barnaby.ostrowicz@example.net", "(620) 555-0177"),
    DecisionMaker("Octavia Marchbanks", "octavia.marchbanks@example.net", "620-555-0188"),
)


@cache
def district() -> District:
    """The sample district, loaded once (read-only: these tests write no state)."""
    return load_district(load_config(CONFIG))


def options(**kw: object) -> DeliveryOptions:
    return dataclasses.replace(district().delivery_options(), **kw)  # type: ignore[arg-type]


@cache
def plans(today: dt.date = TODAY, *, distinctive: bool = False) -> tuple[StudentPlan, ...]:
    students = district().students
    if distinctive:
        students = tuple(
            dataclasses.replace(
                s, first_name=FIRST, last_name=LAST, birth_date=BIRTH, decision_makers=PARENTS
            )
            for s in students
        )
    return plan_district(students, district().ctx, today=today).plans


def items(today: dt.date = TODAY, *, tasks: str = "todo") -> list[DesiredItem]:
    return desired_items(plans(today), options(tasks=tasks))


def payload(item: DesiredItem) -> dict[str, object]:
    return {**item.fields, **item.create_extra}


def graph_type(item: DesiredItem) -> str:
    return "todoTask" if item.kind in ("task", "recurring_task") else "event"


def one(found: Sequence[DesiredItem], **where: object) -> DesiredItem:
    match = [i for i in found if all(getattr(i, k) == v for k, v in where.items())]
    assert match, where
    return match[0]


# -- Microsoft's schema ---------------------------------------------------------------------


@pytest.mark.parametrize("tasks", ["todo", "calendar"])
@pytest.mark.parametrize("today", NIGHTS, ids=str)
def test_every_payload_validates_strictly(today: dt.date, tasks: str) -> None:
    """Every event, calendar item and To Do task body is valid Graph v1.0 with no unknown field."""
    found = items(today, tasks=tasks)
    assert len(found) > 100
    problems = {
        i.key: errs
        for i in found
        if (errs := graphschema.errors(graph_type(i), payload(i), strict=True))
    }
    assert problems == {}
    # PATCH bodies are subsets of `fields`; each field alone must be valid too.
    for i in found[:60]:
        for name, value in i.fields.items():
            assert graphschema.errors(graph_type(i), {name: value}, strict=True) == [], (
                i.key,
                name,
            )


def test_all_item_kinds_are_covered() -> None:
    """The sample nights exercise meetings, plain, contact and recurring tasks and reevaluations."""
    found = [i for night in NIGHTS for i in items(night)]
    kinds = {i.kind for i in found}
    assert kinds == {"event", "task"}  # a recurring milestone is one task per occurrence
    assert any(i.contact for i in found)
    milestones = {i.milestone for i in found}
    assert {"reeval_consent", "reeval_due", "invite_student", "written_notice"} <= milestones
    assert any(m.startswith("progress_report:") for m in milestones)
    cal = {i.kind for night in NIGHTS for i in items(night, tasks="calendar")}
    assert cal == {"event", "calendar_item"}


# -- FERPA ----------------------------------------------------------------------------------


def _forbidden() -> list[str]:
    words = [FIRST, LAST, BIRTH.isoformat(), BIRTH.strftime("%m/%d/%Y"), "6/17/2011"]
    words += ["20110617", "2011-06-17"]
    for dm in PARENTS:
        words += [dm.name, *dm.name.split(), dm.email, dm.phone, re.sub(r"\D", "", dm.phone)]
    words += ["555-0177", "555-0188"]
    return [w.casefold() for w in words]


@pytest.mark.parametrize("tasks", ["todo", "calendar"])
@pytest.mark.parametrize("today", NIGHTS, ids=str)
def test_no_names_birth_dates_or_decision_makers_in_payloads(today: dt.date, tasks: str) -> None:
    """FERPA: no student name, birth date or decision-maker data reaches any Graph payload."""
    chosen = plans(today, distinctive=True)
    found = desired_items(chosen, options(tasks=tasks))
    assert found
    forbidden = _forbidden()
    for i in found:
        text = json.dumps(payload(i), ensure_ascii=False).casefold()
        digits = re.sub(r"\D", "", text)
        leaked = [w for w in forbidden if w in text or (w.isdigit() and w in digits)]
        assert leaked == [], (i.key, leaked)
        assert "Z.Q." in json.dumps(payload(i), ensure_ascii=False)  # initials are allowed
        assert FIRST.casefold() not in i.key.casefold() and LAST.casefold() not in i.key.casefold()


def test_subject_templates_cannot_reach_names() -> None:
    """A template naming {first_name} fails loudly instead of leaking the name."""
    with pytest.raises(KeyError):
        desired_items(plans(distinctive=True), options(subject_template="{title} {first_name}"))


# -- shape of events and tasks --------------------------------------------------------------


@pytest.mark.parametrize("tasks", ["todo", "calendar"])
def test_events_are_private_and_categorised(tasks: str) -> None:
    """Every event and calendar item is private and carries the configured category."""
    found = desired_items(plans(), options(tasks=tasks, category="Special Ed"))
    for i in found:
        assert i.fields["categories"] == ["Special Ed"], i.key
        if i.kind in ("event", "calendar_item"):
            assert i.fields["sensitivity"] == "private", i.key


def test_meeting_event_attendees_and_room() -> None:
    """The meeting invites LEA and gen-ed required, providers optional, room, student at 14+."""
    plan = next(p for p in plans() if p.student_id == "S1001")
    meeting = one(items(), key=item_key("S1001", plan.due_date.isoformat(), "meeting"))
    s = plan.student
    by_type: dict[str, list[str]] = {}
    for a in meeting.fields["attendees"]:
        by_type.setdefault(a["type"], []).append(a["emailAddress"]["address"])
    assert by_type["required"] == [s.lea_email, *s.gen_ed_emails]
    assert s.provider_emails[0] in by_type["optional"]
    assert s.student_email in by_type["optional"]  # 16 at the meeting
    room = district().config.rooms[s.building].lower()
    assert by_type["resource"] == [room]
    assert s.case_manager_email not in json.dumps(meeting.fields["attendees"])
    assert meeting.mailbox == s.case_manager_email
    assert plan.meeting is not None
    assert (meeting.start, meeting.end) == (plan.meeting.start, plan.meeting.end)
    assert meeting.fields["start"] == {
        "dateTime": plan.meeting.start.strftime("%Y-%m-%dT%H:%M:%S"),
        "timeZone": "America/Chicago",
    }
    assert meeting.create_extra["singleValueExtendedProperties"][0] == {
        "id": KEY_PROPERTY_ID,
        "value": meeting.key,
    }


def test_tasks_link_back_by_key_and_are_due_on_the_milestone() -> None:
    """Each To Do task links to its key, is due on its milestone date with a reminder."""
    by_key = {p.student_id: p for p in plans()}
    for i in items():
        if i.kind == "event":
            continue
        assert "transactionId" not in i.create_extra  # not a todoTask property
        assert i.create_extra["linkedResources"] == [
            {
                "applicationName": APPLICATION_NAME,
                "displayName": options().installation,  # the owning installation
                "externalId": i.key,
            }
        ]
        day = milestone_date(by_key[i.student_id], i.milestone, i.cycle_id)
        assert day is not None and day == i.due
        assert i.fields["dueDateTime"]["dateTime"] == f"{day.isoformat()}T00:00:00"
        assert i.fields["isReminderOn"] is True
        assert i.fields["reminderDateTime"]["dateTime"] == f"{day.isoformat()}T07:30:00"


def milestone_date(plan: StudentPlan, name: str, cycle_id: str = "") -> dt.date | None:
    """The date of a milestone, or of one occurrence of a recurring one (`key/number`), in the
    student's cycle with this id (SPEC §3.6), else in the student's plan."""
    key, _, number = name.partition("/")
    plan = next((c for c in plan.others if c.cycle_id == cycle_id), plan)
    m = plan.milestone(key)
    if m is None or not number:
        return m.date if m else None
    return next((o.date for o in m.occurrences if o.number == int(number)), None)


def test_contact_tasks_carry_one_checklist_item_per_method() -> None:
    """A parent-contact task lists every method, and ticked names map back to methods."""
    contacts = [i for i in items() if i.contact]
    assert contacts and {i.milestone for i in contacts} == {"parent_contact_1", "parent_contact_2"}
    for i in contacts:
        names = [c["displayName"] for c in i.create_extra["checklistItems"]]
        assert methods_from_checklist(names) == list(CONTACT_METHODS)
        assert i.fields["importance"] == "high"
    plain = [i for i in items() if i.kind == "task" and not i.contact]
    assert all("checklistItems" not in i.create_extra for i in plain)


def test_methods_from_checklist_ignores_unknown_names() -> None:
    """Ticked names are matched case-insensitively; names a person added are ignored."""
    assert methods_from_checklist([" phone ", "VIDEO CALL", "Called grandma", ""]) == [
        "phone",
        "video",
    ]
    assert set(LABEL for LABEL in METHOD_LABELS) == set(CONTACT_METHODS)


def test_progress_monitoring_is_one_dated_task_per_occurrence_inside_the_horizon() -> None:
    """progress_monitoring is one plain task per occurrence due by TODAY + horizon, never a
    To Do recurrence (SPEC §5, graph-facts §8)."""
    by_id = {p.student_id: p for p in plans()}
    found = [i for i in items() if i.milestone.startswith("progress_monitoring/")]
    assert found
    horizon = TODAY + dt.timedelta(days=options().booking_horizon_days)
    for i in found:
        assert i.kind == "task" and "recurrence" not in i.fields
        assert i.due is not None and i.due <= horizon
        m = by_id[i.student_id].milestone("progress_monitoring")
        assert m is not None
        wanted = [o for o in m.occurrences if o.date <= horizon]
        assert i.milestone in {f"progress_monitoring/{o.number}" for o in wanted}


def test_calendar_mode_delivers_all_day_free_items() -> None:
    """With tasks = "calendar", milestones become all-day, free, private items found by key."""
    found = items(tasks="calendar")
    todo_keys = {i.key for i in items()}
    assert {i.key for i in found} == todo_keys  # same keys whichever way tasks are delivered
    for i in found:
        if i.kind == "event":
            continue
        assert i.kind == "calendar_item"
        assert i.due is not None
        assert i.fields["isAllDay"] is True and i.fields["showAs"] == "free"
        assert i.fields["start"]["dateTime"] == f"{i.due.isoformat()}T00:00:00"
        end = i.due + dt.timedelta(days=1)
        assert i.fields["end"]["dateTime"] == f"{end.isoformat()}T00:00:00"
        assert i.create_extra["transactionId"] == transaction_id(i.key)
        assert "checklistItems" not in i.create_extra and "linkedResources" not in i.create_extra


# -- keys, hashes and transaction ids -------------------------------------------------------


def test_keys_are_deterministic_and_unique() -> None:
    """Two builds give the same keys and hashes; keys are student/cycle/milestone and unique."""
    first, second = items(), desired_items(plans(), options())
    assert [(i.key, i.hash, dict(i.field_hashes)) for i in first] == [
        (i.key, i.hash, dict(i.field_hashes)) for i in second
    ]
    keys = [i.key for i in first]
    assert len(keys) == len(set(keys))
    for i in first:
        assert i.key == item_key(i.student_id, i.cycle_id, i.milestone)
        assert i.key.count("/") == (3 if re.search(r"/\d+$", i.milestone) else 2)


def test_cycle_ids_shape_keys() -> None:
    """Keys use the state's cycle ids (annual and reevaluation), else the due date."""
    # A reevaluation held at the annual meeting: the annual plan delivers its tasks.
    chosen = [
        p
        for p in plans()
        if deliverable(p, 60) and any(o.combined_with == "annual" for o in p.others)
    ]
    assert chosen
    p = chosen[0]
    default = desired_items([p], options())
    assert {i.cycle_id for i in default} == {
        p.due_date.isoformat(),
        f"R{p.student.reeval_due_date.isoformat()}",  # type: ignore[union-attr]
    }
    named = dataclasses.replace(p, cycle_id="2026-12-15.2", reeval_cycle_id="R-x")
    got = desired_items([named], options())
    assert {i.cycle_id for i in got if i.milestone.startswith("reeval")} == {"R-x"}
    assert {i.cycle_id for i in got if not i.milestone.startswith("reeval")} == {"2026-12-15.2"}


def test_transaction_id_is_stable_per_key_and_generation() -> None:
    """transactionId derives from the key (retries dedupe) and changes per generation (rebook)."""
    key = "S1036/2026-11-16/parent_contact_1"
    # A changed derivation would let an upgrade re-create every event: pin one value.
    assert transaction_id(key) == "D9078DB4-46D0-5C1F-9058-ABF546ECAE1F"
    assert transaction_id(key) == transaction_id(key, 0)
    generations = {transaction_id(key, g) for g in range(4)}
    assert len(generations) == 4
    events = [i for i in items() if i.kind == "event"]
    ids = [i.create_extra["transactionId"] for i in events]
    assert ids == [transaction_id(i.key) for i in events]
    assert len(set(ids)) == len(ids)


def test_hashes_change_only_for_changed_fields() -> None:
    """A changed due date changes the hashes of exactly the fields it shows up in."""
    p = dataclasses.replace(
        next(p for p in plans() if p.student_id == "S1009"), cycle_id="c1"
    )  # a correction keeps the cycle (and so the keys)
    later = dataclasses.replace(p, due_date=p.due_date + dt.timedelta(days=3))
    before = {i.key: i for i in desired_items([p], options())}
    after = {i.key: i for i in desired_items([later], options())}
    assert before.keys() == after.keys()
    for key, old in before.items():
        new = after[key]
        changed = {n for n, h in new.field_hashes.items() if old.field_hashes[n] != h}
        if key.endswith("/meeting"):
            # The invitation does not mention the due date: a correction must not PATCH it
            # (every PATCH of a meeting emails all its attendees).
            assert changed == set() and new.hash == old.hash, (key, changed)
            continue
        assert changed == {"body"}, (key, changed)  # only a task's body mentions the due date
        assert new.hash != old.hash


def test_deliverable_within_horizon_or_booked() -> None:
    """A plan is delivered once booked, or when TODAY is within the horizon of its meeting M."""
    p = next(p for p in plans() if p.student_id == "S1002")  # due 2027-02-08, proposed
    assert p.meeting is not None and p.meeting.state == "proposed"
    edge = p.meeting.date - dt.timedelta(days=60)
    assert not deliverable(dataclasses.replace(p, today=edge - dt.timedelta(days=1)), 60)
    assert deliverable(dataclasses.replace(p, today=edge), 60)
    assert deliverable(dataclasses.replace(p, today=edge - dt.timedelta(days=1)), 61)
    booked = dataclasses.replace(p, meeting=dataclasses.replace(p.meeting, state="booked"))
    assert deliverable(dataclasses.replace(booked, today=dt.date(2026, 1, 1)), 60)
    assert not deliverable(dataclasses.replace(p, meeting=None, today=p.due_date), 60)
    assert (
        desired_items([dataclasses.replace(p, today=edge - dt.timedelta(days=1))], options()) == []
    )


def test_unplanned_students_get_nothing() -> None:
    """A student whose meeting cannot be placed (calendar not loaded) gets no items."""
    unplanned = [p for p in plans() if p.meeting is None]
    assert unplanned
    assert desired_items(unplanned, options()) == []


def test_held_meeting_is_marked_held() -> None:
    """A meeting in the past is marked held so it is never PATCHed again."""
    s = next(st for st in district().students if st.student_id == "S1009")
    tz = district().ctx.tz
    start = dt.datetime(2026, 11, 20, 15, 30, tzinfo=tz)
    booked = {"S1009": BookedMeeting("S1009", start, start + dt.timedelta(hours=1), "c1")}
    p = plan_district([s], district().ctx, today=TODAY, booked=booked, cycle_ids={"S1009": "c1"})
    found = desired_items(p.plans, options())
    meeting = one(found, milestone="meeting")
    assert meeting.held and meeting.key == "S1009/c1/meeting"
    assert all(not i.held for i in found if i.kind != "event")
