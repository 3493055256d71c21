"""iCalendar files of the plan, for coordinators to review and for Outlook/Google/Apple to import.

Meetings are timed events in the district's time zone (with its VTIMEZONE); every other dated
milestone is an all-day, free ("transparent") event on its due date, and a recurring one is one
such event per occurrence, each on its school day (no RRULE: a rule would land on weekends and
holidays, SPEC §3.2). UIDs are the item keys sync
uses (`student/cycle/milestone@iepsched`), so re-importing a newer export updates events instead
of duplicating them, and SEQUENCE rises only when an event's content changes. Like Outlook items,
events carry the student id and initials only (the configured `[privacy]` templates), are
`CLASS:PRIVATE` and in the `IEP` category. Attendees are named in the description rather than as
ATTENDEE properties so that importing a preview can never send an invitation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..core.items import cycle_ids as cycle_ids  # tests key UIDs with it
from ..core.items import item_key, milestone_summary, occurrence_milestones, subject
from ..core.model import DistrictPlan, Milestone, StudentPlan
from ..core.settings import PrivacySettings
from .cycleview import (
    TYPE_LABELS,
    delivering_cycles,
    due_text,
    key_cycles,
    label,
    purpose_text,
    purposes,
)
from .report import write_atomic

SequenceFor = Callable[[str, str], int]
ExportBy = Literal["case-manager", "building", "all"]
# An event as (property, value) pairs in output order, before icalendar renders it: cheap to
# hash for SEQUENCE, and rendered once.
EventSpec = list[tuple[str, Any]]
UID_DOMAIN = "iepsched"
PRODID = "-//iepsched//IEP timelines//EN"

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in "123456789"
}


@dataclass(frozen=True, slots=True)
class IcsFile:
    """One calendar file of an export: its file name, calendar name and students."""

    file_name: str
    title: str
    plans: tuple[StudentPlan, ...]


IcsWrap = Callable[[Sequence[IcsFile]], Iterable[IcsFile]]


def uid_for(key: str) -> str:
    """The ICS UID of an item key."""
    return f"{key}@{UID_DOMAIN}"


def plans_calendar(
    plans: Iterable[StudentPlan],
    *,
    tz_name: str,
    name: str,
    sequence_for: SequenceFor | None,
    privacy: PrivacySettings | None = None,
    category: str = "IEP",
    rooms: Mapping[str, str] | None = None,
    stamp: dt.datetime | None = None,
) -> bytes:
    """One VCALENDAR (RFC 5545, CRLF line ends, folded at 75 octets) of these plans.

    `sequence_for(uid, content_hash)` gives each event's SEQUENCE (0 when None). `stamp` is the
    DTSTAMP of every event; by default midnight UTC of the plans' `today`, so an export is a pure
    function of the plan (golden files stay stable).
    """
    from icalendar import Calendar, Event, Timezone

    plans = tuple(plans)
    privacy = privacy or PrivacySettings()
    if stamp is None:
        day = plans[0].today if plans else dt.date(2000, 1, 1)
        stamp = dt.datetime.combine(day, dt.time(0), dt.UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz_name)
    first, last = _span(plans, stamp.date())
    cal.add_component(
        Timezone.from_tzid(
            tz_name, first_date=dt.date(first.year, 1, 1), last_date=dt.date(last.year + 2, 1, 1)
        )
    )
    seen: set[str] = set()
    for plan in plans:
        for spec in _plan_events(plan, tz_name, privacy, category, rooms or {}):
            uid = str(spec[0][1])
            if uid in seen:
                continue  # a step two cycles share (a combined reevaluation's) is one event
            seen.add(uid)
            event = Event()
            for prop, value in spec:
                event.add(prop, value)
            event.add("sequence", sequence_for(uid, content_hash(spec)) if sequence_for else 0)
            event.add("dtstamp", stamp)
            cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def content_hash(spec: EventSpec) -> str:
    """What SEQUENCE follows: the event's properties, not DTSTAMP and not today's statuses."""
    text = json.dumps(spec, default=str, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _span(plans: Sequence[StudentPlan], default: dt.date) -> tuple[dt.date, dt.date]:
    """The dates the VTIMEZONE must cover: every meeting of these plans' cycles."""
    days = [c.meeting.date for p in plans for c in p.cycles if c.meeting is not None]
    return (min(days), max(days)) if days else (default, default)


def _plan_events(
    plan: StudentPlan,
    tz_name: str,
    privacy: PrivacySettings,
    category: str,
    rooms: Mapping[str, str],
) -> Iterable[EventSpec]:
    """Every open cycle's meeting and dated steps (SPEC §3.6); a reevaluation held at the annual
    meeting adds no event of its own: the annual meeting names both purposes."""
    for cycle in delivering_cycles(plan):
        own, reeval = key_cycles(cycle)
        if cycle.meeting is not None:
            yield _meeting_event(plan, cycle, own, tz_name, privacy, category, rooms)
        for m in cycle.milestones:
            if m.delivery == "event" or m.date is None:
                continue  # meeting and staff_invite are the meeting event itself
            key_cycle = reeval if m.track == "reeval" else own
            for one in occurrence_milestones(m):
                yield _deadline_event(cycle, one, key_cycle, privacy, category)


def _base_event(uid: str, summary: str, category: str, description: str) -> EventSpec:
    return [
        ("uid", uid),  # first: plans_calendar reads it from here
        ("summary", summary),
        ("description", description),
        ("class", "PRIVATE"),
        ("categories", [category]),
    ]


def _meeting_event(
    top: StudentPlan,
    plan: StudentPlan,
    cycle: str,
    tz_name: str,
    privacy: PrivacySettings,
    category: str,
    rooms: Mapping[str, str],
) -> EventSpec:
    from zoneinfo import ZoneInfo

    meeting = plan.meeting
    assert meeting is not None
    s = plan.student
    tz = ZoneInfo(tz_name)
    state = {
        "proposed": "Proposed by iepsched: not booked in Outlook yet.",
        "booked": "Booked in Outlook.",
        "held": "Held.",
    }[meeting.state]
    lines = [
        _purpose_line(top, plan) + f" {state}",
        f"Organizer: {s.case_manager_email}",
        "Required: "
        + (", ".join(e for e in s.required_emails if e != s.case_manager_email) or "-"),
    ]
    if s.provider_emails:
        lines.append("Optional: " + ", ".join(s.provider_emails))
    if plan.milestone("invite_student") is not None:
        # Only a student with an email is an attendee of the Outlook event (core.items); one
        # without is invited by the case manager, so the event must not claim an invitation.
        if s.student_email:
            lines.append("The student is invited (14 or older).")
        else:
            lines.append("Invite the student (14 or older) in person: no email on the roster.")
    kinds = purposes(top, plan)
    summary = subject(privacy.meeting_subject_template, plan, "IEP meeting")
    if kinds != ("annual",):
        summary += f" ({purpose_text(kinds)})"
    event = _base_event(
        uid_for(item_key(s.student_id, cycle, "meeting")),
        summary,
        category,
        "\n".join(lines),
    )
    room = rooms.get(s.building, "")
    event += [
        ("dtstart", meeting.start.astimezone(tz)),
        ("dtend", meeting.end.astimezone(tz)),
        ("location", f"{s.building} conference room" if room else s.building),
        ("status", "TENTATIVE" if meeting.state == "proposed" else "CONFIRMED"),
        ("transp", "OPAQUE"),
    ]
    return event


def _purpose_line(top: StudentPlan, plan: StudentPlan) -> str:
    """What the meeting is for and against which due dates; the annual review alone keeps the
    sentence it always had (its SEQUENCE does not rise for nothing)."""
    s = plan.student
    who = f"student {s.student_id} ({s.initials})"
    due = due_text(plan)
    joined = [c for c in top.cycles if c.combined_with == plan.cycle_type]
    if plan.cycle_type == "annual":
        text = f"Annual IEP meeting for {who}"
        for c in joined:
            text += f", also the {TYPE_LABELS[c.cycle_type]} meeting"
        text += f". IEP due {due}."
        for c in joined:
            text += f" {label(c.cycle_type)} due {due_text(c)}."
        return text
    text = purpose_text(purposes(top, plan))
    return f"{text[0].upper()}{text[1:]} meeting for {who}. Due {due}."


def _deadline_event(
    plan: StudentPlan, m: Milestone, cycle: str, privacy: PrivacySettings, category: str
) -> EventSpec:
    assert m.date is not None
    s = plan.student
    description = milestone_summary(plan, m)
    if m.status == "done":
        description += " Done."
    event = _base_event(
        uid_for(item_key(s.student_id, cycle, m.key)),
        subject(privacy.subject_template, plan, m.title),
        category,
        description,
    )
    event += [
        ("dtstart", m.date),
        ("dtend", m.date + dt.timedelta(days=1)),
        ("transp", "TRANSPARENT"),
    ]
    return event


# -- export -----------------------------------------------------------------------------------


def slugify(text: str) -> str:
    """A file-name-safe form of an email or building name: `cm.rivera-at-pvsec.example.org`."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    folded = folded.replace("@", "-at-")
    slug = re.sub(r"[^a-z0-9.]+", "-", folded, flags=re.ASCII)
    slug = re.sub(r"-{2,}", "-", slug).strip("-.")[:80].strip("-.")
    if not slug:
        slug = "unnamed"
    if slug.split(".")[0] in _WINDOWS_RESERVED:
        slug = f"_{slug}"
    return slug


def ics_files(district_plan: DistrictPlan, *, by: ExportBy, district_name: str) -> list[IcsFile]:
    """How an export splits the plan into files (sorted; colliding slugs get a short hash)."""
    plans = district_plan.plans
    if by == "all":
        return [IcsFile("all.ics", f"{district_name} — IEP timelines", tuple(plans))]
    groups: dict[str, list[StudentPlan]] = {}
    for plan in plans:
        key = plan.student.case_manager_email if by == "case-manager" else plan.student.building
        groups.setdefault(key, []).append(plan)
    slugs: dict[str, list[str]] = {}
    for key in groups:
        slugs.setdefault(slugify(key), []).append(key)
    files = []
    for key in sorted(groups):
        slug = slugify(key)
        if len(slugs[slug]) > 1:
            slug = f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"
        files.append(
            IcsFile(f"{slug}.ics", f"{district_name} — IEP timelines — {key}", tuple(groups[key]))
        )
    return files


def export_ics(
    district_plan: DistrictPlan,
    *,
    by: ExportBy,
    out_dir: Path,
    tz_name: str,
    district_name: str,
    sequence_for: SequenceFor | None = None,
    privacy: PrivacySettings | None = None,
    category: str = "IEP",
    rooms: Mapping[str, str] | None = None,
    stamp: dt.datetime | None = None,
    each: IcsWrap | None = None,
) -> list[Path]:
    """Write one calendar per case manager, per building, or `all.ics`; each atomically.

    Returns the paths written. `each` wraps the loop over files (a progress bar). Files from
    earlier exports are never deleted.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ics_files(district_plan, by=by, district_name=district_name)
    written: list[Path] = []
    for f in each(files) if each else files:
        data = plans_calendar(
            f.plans,
            tz_name=tz_name,
            name=f.title,
            sequence_for=sequence_for,
            privacy=privacy,
            category=category,
            rooms=rooms,
            stamp=stamp,
        )
        path = out_dir / f.file_name
        write_atomic(path, data)
        written.append(path)
    return written
