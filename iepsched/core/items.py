"""From a student's plan to the Outlook events and To Do tasks that should exist. Pure.

Keys are deterministic (`student/cycle/milestone`), transaction ids derive from keys, and every
payload is hashed field by field so an update PATCHes only what changed (each PATCH of a meeting
emails the attendees — graph-facts §7). Calendar items carry the student id and initials only,
through the configured templates (FERPA minimum data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .cycleids import cycle_ids as cycle_ids  # where sync and the outputs look for it
from .model import CONTACT_METHODS, Meeting, Milestone, StudentPlan
from .remote import APPLICATION_NAME, KEY_PROPERTY_ID, DesiredItem, ItemKind
from .rules import occurrence_key

# The second single-value extended property on iepsched's events: the owning installation. Same
# property set (GUID) as the key; events are listed with the documented id-and-value filter on it.
INSTALLATION_PROPERTY_ID = "String {6f0a3c55-5f2e-4f43-9d8b-1e2a7c1b9e21} Name iepschedInstallation"
DEFAULT_INSTALLATION = "iepsched"

_TX_NAMESPACE = uuid.UUID("3b0f4f0e-7f4e-4a53-9a43-2f1e5d8c6a10")
METHOD_LABELS: dict[str, str] = {
    "phone": "Phone",
    "email": "Email",
    "letter": "Letter",
    "in_person": "In person",
    "text": "Text message",
    "video": "Video call",
}
LABEL_METHODS = {label.lower(): method for method, label in METHOD_LABELS.items()}


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    """What shapes the payloads: from `[delivery]`, `[privacy]`, `[rooms]` and the district."""

    timezone: str
    tasks: str = "todo"  # "todo" or "calendar"
    category: str = "IEP"
    subject_template: str = "{title} — {student_id} {initials}"
    meeting_subject_template: str = "IEP meeting — {student_id} {initials}"
    reminder_time: dt.time = dt.time(7, 30)
    booking_horizon_days: int = 60
    rooms: Mapping[str, str] | None = None
    # Which installation owns the items (`[district] installation`): stored in every event and
    # task so a second installation on the same mailboxes refuses instead of duplicating.
    installation: str = DEFAULT_INSTALLATION


def item_key(student_id: str, cycle_id: str, milestone: str) -> str:
    """The stable key of one item; also the ICS UID stem and Graph linkedResource externalId."""
    return f"{student_id}/{cycle_id}/{milestone}"


def transaction_id(key: str, generation: int = 0) -> str:
    """The event's Graph transactionId: derived from the key, so a retried create is deduplicated.

    `generation` changes it when an event must be created again for the same key (after a person
    deleted it and `--rebook` asked for it back): Graph refuses a transactionId used before.
    """
    name = key if generation == 0 else f"{key}#{generation}"
    return str(uuid.uuid5(_TX_NAMESPACE, name)).upper()


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _dtz(value: dt.datetime, tz: str) -> dict[str, str]:
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": tz}


def _day(value: dt.date, tz: str) -> dict[str, str]:
    return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": tz}


def subject(template: str, plan: StudentPlan, title: str) -> str:
    """A calendar subject or task title from a `[privacy]` template (id and initials only)."""
    s = plan.student
    return template.format(
        title=title, student_id=s.student_id, initials=s.initials, building=s.building
    )


# A booked meeting the plan had to place again (ladder.keep_booked): its event is moved at once,
# wherever the new slot is, or it would stay on a snow day and count as held.
MUST_MOVE = frozenset({"booked_day_closed", "booked_after_due"})


def deliverable(plan: StudentPlan, horizon_days: int) -> bool:
    """Whether a plan is delivered yet: a meeting exists and is booked, or the proposed meeting
    is within the horizon (SPEC §5: TODAY >= M - horizon, measured from the meeting, not DUE —
    an IEP due in August is met in May, and its tasks start in April)."""
    meeting = plan.meeting
    if meeting is None:
        # An amendment without a meeting is tasks only (SPEC §3.6): delivered at once.
        return plan.cycle_type == "amendment" and not any(
            m.delivery == "event" for m in plan.milestones
        )
    if meeting.state != "proposed":
        return True
    if any(w.code in MUST_MOVE for w in plan.warnings):
        return True  # its event is in Outlook on a day that no longer stands: moved now
    return plan.today >= meeting.date - dt.timedelta(days=horizon_days)


def desired_items(plans: Iterable[StudentPlan], options: DeliveryOptions) -> list[DesiredItem]:
    """Every item that should exist for these plans (undeliverable plans give none)."""
    out: list[DesiredItem] = []
    for plan in plans:
        if deliverable(plan, options.booking_horizon_days):
            out.extend(_student_items(plan, options))
        if plan.held_cycle is not None:
            out.extend(_held_cycle_items(plan, options))
        for other in plan.others:
            # Each open cycle delivers its own items under its own cycle id; a reevaluation
            # held at the annual meeting delivers nothing (the annual plan carries its tasks).
            if other.combined_with is not None:
                continue
            if deliverable(other, options.booking_horizon_days):
                out.extend(_student_items(other, options))
            else:
                out.extend(_early_tasks(other, options))
    return out


def early_tasks(plan: StudentPlan, horizon_days: int) -> list[Milestone]:
    """The tasks of a cycle whose meeting is not delivered yet but that are due inside the
    horizon already: a separate reevaluation asks for consent school(R, -65), months before
    its meeting comes within the horizon, and must not wait for it."""
    until = plan.today + dt.timedelta(days=horizon_days)
    return [
        m
        for m in plan.milestones
        if m.delivery == "task" and m.date is not None and m.date <= until and not m.occurrences
    ]


def _early_tasks(plan: StudentPlan, options: DeliveryOptions) -> Iterable[DesiredItem]:
    cycle, reeval_cycle = cycle_ids(plan)
    for m in early_tasks(plan, options.booking_horizon_days):
        cycle_id = reeval_cycle if m.track == "reeval" else cycle
        key = item_key(plan.student_id, cycle_id, m.key)
        if options.tasks == "calendar":
            yield _calendar_item(plan, m, options, key, cycle_id)
        else:
            yield _task_item(plan, m, options, key, cycle_id)


def _held_cycle_items(plan: StudentPlan, options: DeliveryOptions) -> Iterable[DesiredItem]:
    """The held previous cycle's occurrences inside the horizon, keyed with that cycle and
    described with its own meeting and due date (so they read, and hash, as they did while it
    was the current cycle)."""
    held = plan.held_cycle
    assert held is not None
    day = dt.datetime.combine(held.meeting_date, dt.time(0))
    as_then = replace(
        plan,
        due_date=held.due_date,
        meeting=Meeting(held.meeting_date, day, day, "held", "on_track"),
    )
    horizon = plan.today + dt.timedelta(days=options.booking_horizon_days)
    for m in held.milestones:
        for one in occurrence_milestones(m, horizon):
            key = item_key(plan.student_id, held.cycle_id, one.key)
            if options.tasks == "calendar":
                yield _calendar_item(as_then, one, options, key, held.cycle_id)
            else:
                yield _task_item(as_then, one, options, key, held.cycle_id)


def _student_items(plan: StudentPlan, options: DeliveryOptions) -> Iterable[DesiredItem]:
    meeting = plan.meeting
    cycle, reeval_cycle = cycle_ids(plan)
    if meeting is not None:
        yield _meeting_item(plan, options, item_key(plan.student_id, cycle, "meeting"), cycle)
    horizon = plan.today + dt.timedelta(days=options.booking_horizon_days)
    for m in plan.milestones:
        if m.delivery == "event" or m.date is None:
            continue  # the meeting event carries staff_invite and meeting
        cycle_id = reeval_cycle if m.track == "reeval" else cycle
        for one in occurrence_milestones(m, horizon):
            key = item_key(plan.student_id, cycle_id, one.key)
            if options.tasks == "calendar":
                yield _calendar_item(plan, one, options, key, cycle_id)
            else:
                yield _task_item(plan, one, options, key, cycle_id)


def occurrence_milestones(m: Milestone, until: dt.date | None = None) -> list[Milestone]:
    """What is delivered for a milestone: itself, or for a recurring one each occurrence dated
    on or before `until` (SPEC §5: the occurrences inside the booking horizon, rolling forward
    night by night) as a one-off task of its own — never a To Do `recurrence`, which Graph
    round-trips badly (graph-facts §8). An occurrence's key is `occurrence_key`, so its item
    key, completion and status are its own; open past occurrences stay wanted until done.
    """
    if not m.occurrences:
        return [m]
    return [
        m._replace(
            key=occurrence_key(m.key, o.number),
            date=o.date,
            status=o.status,
            delivery="task",
            occurrences=(),
        )
        for o in m.occurrences
        if until is None or o.date <= until
    ]


def _finish(
    *,
    key: str,
    plan: StudentPlan,
    cycle_id: str,
    milestone: str,
    kind: ItemKind,
    fields: dict[str, Any],
    create_extra: dict[str, Any],
    **extra: Any,
) -> DesiredItem:
    field_hashes = {name: _hash(value) for name, value in fields.items()}
    return DesiredItem(
        key=key,
        student_id=plan.student_id,
        cycle_id=cycle_id,
        milestone=milestone,
        kind=kind,
        mailbox=plan.student.case_manager_email,
        fields=fields,
        create_extra=create_extra,
        field_hashes=field_hashes,
        hash=_hash(field_hashes),
        **extra,
    )


def _event_extra(key: str, installation: str) -> dict[str, Any]:
    return {
        "transactionId": transaction_id(key),
        "singleValueExtendedProperties": [
            {"id": KEY_PROPERTY_ID, "value": key},
            {"id": INSTALLATION_PROPERTY_ID, "value": installation},
        ],
    }


def _meeting_item(
    plan: StudentPlan, options: DeliveryOptions, key: str, cycle_id: str
) -> DesiredItem:
    meeting = plan.meeting
    assert meeting is not None
    s = plan.student
    tz = options.timezone
    attendees: list[dict[str, Any]] = []
    seen = {s.case_manager_email}

    def add(email: str, kind: str) -> None:
        if email and email not in seen:
            seen.add(email)
            attendees.append({"emailAddress": {"address": email}, "type": kind})

    add(s.lea_email, "required")
    for email in s.gen_ed_emails:
        add(email, "required")
    for email in s.provider_emails:
        add(email, "optional")
    if s.student_email and any(m.key == "invite_student" for m in plan.milestones):
        add(s.student_email, "optional")
    room = (options.rooms or {}).get(s.building, "")
    location: dict[str, Any] = {"displayName": s.building}
    if room:
        add(room.lower(), "resource")
        location = {"displayName": f"{s.building} conference room", "locationEmailAddress": room}
    title, purpose = meeting_purpose(plan)
    template = options.meeting_subject_template
    if plan.cycle_type != "annual" and "{title}" not in template:
        # The meeting subject template names the annual meeting; the other meetings name
        # their purpose through the task template's {title} (ids and initials only as well).
        template = options.subject_template
    fields: dict[str, Any] = {
        "subject": subject(template, plan, title),
        "body": {
            "contentType": "text",
            "content": (
                # No due date here: a roster correction would PATCH the body, and every PATCH
                # of a meeting emails all its attendees.
                f"{purpose} for student {s.student_id} ({s.initials}). "
                "Scheduled by iepsched; "
                "if you cannot attend, decline so the case manager can find another time."
            ),
        },
        "start": _dtz(meeting.start, tz),
        "end": _dtz(meeting.end, tz),
        "attendees": attendees,
        "location": location,
        "sensitivity": "private",
        "categories": [options.category],
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 1440,
        "showAs": "busy",
    }
    return _finish(
        key=key,
        plan=plan,
        cycle_id=cycle_id,
        milestone="meeting",
        kind="event",
        fields=fields,
        create_extra=_event_extra(key, options.installation),
        start=meeting.start,
        end=meeting.end,
        held=meeting.state == "held",
    )


# What each cycle's meeting is called in its event (SPEC §3.6), and the body's first words.
PURPOSES: dict[str, tuple[str, str]] = {
    "annual": ("IEP meeting", "Annual IEP meeting"),
    "eligibility": ("Eligibility meeting", "Eligibility meeting"),
    "initial_iep": ("Initial IEP meeting", "Initial IEP meeting"),
    "amendment": ("IEP amendment meeting", "IEP amendment meeting"),
    "reevaluation": ("Reevaluation meeting", "Reevaluation meeting"),
    "transfer": ("Transfer IEP meeting", "Transfer IEP meeting"),
}


def meeting_purpose(plan: StudentPlan) -> tuple[str, str]:
    """(title, purpose sentence start) of a plan's meeting: both purposes when the annual
    meeting is also the reevaluation meeting (SPEC §3.6: one event, both purposes)."""
    if plan.cycle_type == "annual" and any(
        o.combined_with == "annual" and o.cycle_type == "reevaluation" for o in plan.others
    ):
        return (
            "IEP and reevaluation meeting",
            "Annual IEP meeting and reevaluation meeting",
        )
    return PURPOSES[plan.cycle_type]


def milestone_summary(plan: StudentPlan, m: Milestone) -> str:
    """What a task or calendar item says about its step: ids, initials and dates only."""
    s = plan.student
    meeting = plan.meeting
    when = meeting.date.isoformat() if meeting else "not yet placed"
    if plan.cycle_type == "annual":
        text = (
            f"Student {s.student_id} ({s.initials}). IEP meeting {when}; IEP due "
            f"{plan.due_date.isoformat()}. From iepsched (milestone {m.key})."
        )
    else:
        title = PURPOSES[plan.cycle_type][0]
        if meeting is None and not any(x.delivery == "event" for x in plan.milestones):
            title, when = "Written IEP amendment (no meeting)", "-"
        text = (
            f"Student {s.student_id} ({s.initials}). {title} {when}; due "
            f"{plan.due_date.isoformat()}. From iepsched (milestone {m.key})."
        )
    if m.kind == "contact":
        text += " Two parent contacts by two different methods are required."
    return text


def _task_body(plan: StudentPlan, m: Milestone) -> str:
    text = milestone_summary(plan, m)
    if m.kind == "contact":
        text += " Tick the method(s) you used, then complete the task: iepsched logs the contact."
    return text


def _task_item(
    plan: StudentPlan, m: Milestone, options: DeliveryOptions, key: str, cycle_id: str
) -> DesiredItem:
    assert m.date is not None
    tz = options.timezone
    reminder = dt.datetime.combine(m.date, options.reminder_time)
    fields: dict[str, Any] = {
        "title": subject(options.subject_template, plan, m.title),
        "body": {"contentType": "text", "content": _task_body(plan, m)},
        "dueDateTime": _day(m.date, tz),
        "isReminderOn": True,
        "reminderDateTime": _dtz(reminder, tz),
        "importance": "high" if m.kind == "contact" or m.key == "written_notice" else "normal",
        "categories": [options.category],
    }
    kind: ItemKind = "task"
    create_extra: dict[str, Any] = {
        "linkedResources": [
            # displayName names the owning installation (externalId stays the key, SPEC §5).
            {
                "applicationName": APPLICATION_NAME,
                "displayName": options.installation,
                "externalId": key,
            }
        ]
    }
    if m.kind == "contact":
        create_extra["checklistItems"] = [
            {"displayName": METHOD_LABELS[method]} for method in CONTACT_METHODS
        ]
    return _finish(
        key=key,
        plan=plan,
        cycle_id=cycle_id,
        milestone=m.key,
        kind=kind,
        fields=fields,
        create_extra=create_extra,
        due=m.date,
        contact=m.kind == "contact",
    )


def _calendar_item(
    plan: StudentPlan, m: Milestone, options: DeliveryOptions, key: str, cycle_id: str
) -> DesiredItem:
    """The alternative to To Do: an all-day, free, private calendar item on the due date."""
    assert m.date is not None
    tz = options.timezone
    fields: dict[str, Any] = {
        "subject": subject(options.subject_template, plan, m.title),
        "body": {"contentType": "text", "content": _task_body(plan, m)},
        "start": _day(m.date, tz),
        "end": _day(m.date + dt.timedelta(days=1), tz),
        "isAllDay": True,
        "showAs": "free",
        "sensitivity": "private",
        "categories": [options.category],
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 15 * 60 + 30,  # 08:30 the day before
    }
    return _finish(
        key=key,
        plan=plan,
        cycle_id=cycle_id,
        milestone=m.key,
        kind="calendar_item",
        fields=fields,
        create_extra=_event_extra(key, options.installation),
        due=m.date,
        contact=m.kind == "contact",
    )


def methods_from_checklist(checked: Iterable[str]) -> list[str]:
    """Contact methods from ticked checklist item names (unknown names ignored)."""
    found = [LABEL_METHODS.get(name.strip().lower(), "") for name in checked]
    return [m for m in found if m]
